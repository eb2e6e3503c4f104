"""langgraph-controlplane data-plane listener.

Layers, top to bottom (services/listener/.importlinter enforces them; the README's "Layout"
says where each behaviour lives):

- `cli`, `app`, `settings`: the process and its configuration (the wiring);
- `reconcile`: the controller, its cluster cache, the reconcile step, apply, removal, status reports;
- `databases`: the database modes (`shared`, `external`, `dedicated`), one `DatabaseMode` strategy;
- `render` and `status`: pure: the agent's objects, and the rollout outcome read from the cluster;
- `kube` and `control_plane`: I/O: the Kubernetes client, informer, work queue and lease; the
  control plane's API and its notification stream;
- `observability`: metrics, the health server, log-safe failure descriptions;
- `objects` and `configuration`: plain data every layer shares.
"""
