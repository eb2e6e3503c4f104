"""Kubernetes plumbing, with no knowledge of agents: a small client of plain-dict objects, a
list-then-watch informer per kind and namespace, the work queue of keys, and the Lease that
elects the leader."""
