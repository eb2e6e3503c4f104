"""Reconciliation: from the desired state and the watched cluster to applied objects and reports.

- `controller.Controller`: the desired state, the work queue and its workers; prunes every memo
  of a deployment once it is gone;
- `cluster_cache.ClusterCache`: the informers of every watched kind and namespace, and which
  Deployment and pods belong to which deployment;
- `step.ReconcileStep`: one pass over one deployment, returning a `result.Result`;
- `preflight`: the checks before anything is written (names held by others, refused references);
- `apply.Applier`: server-side apply of what changed, and drift detection;
- `remove.Remover`: removal of a deleted or orphaned deployment;
- `status_reporter.StatusReporter`: revision and deployment statuses, events and the preview;
- `ports`: the small Kubernetes and control-plane interfaces all of these use.
"""
