"""Prometheus metrics the listener exposes on /metrics."""

from prometheus_client import Counter, Gauge, Histogram

RECONCILE_SECONDS = Histogram(
    "lgcp_listener_reconcile_duration_seconds",
    "Time to reconcile one deployment",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge("lgcp_listener_queue_depth", "Deployments waiting to be reconciled")
ERRORS = Counter("lgcp_listener_errors_total", "Failures, by kind", ["kind"])
WRITES = Counter("lgcp_listener_kubernetes_writes_total", "Applies and deletes sent to Kubernetes")
IS_LEADER = Gauge("lgcp_listener_is_leader", "1 while this replica holds the lease")
