"""Pure rendering: the Kubernetes objects of one agent from its desired state, the metadata and
security contexts every object shares, the applied-hash that says whether an object changed, and
the redacted preview reported to the control plane. Nothing here does I/O or knows database
modes: a mode renders its own objects (with `common`) and the reconcile step hands them in."""
