"""The gathered figures on the listener's own /metrics, one gauge per figure labelled by
deployment, so a team's Prometheus can chart them with its own dashboards (docs/grafana-*.json)."""

from __future__ import annotations

from prometheus_client import Gauge

LABELS = ("deployment_id", "deployment", "namespace", "revision_id")
FIGURES = {
    "replicas_ready": "Agent pods ready",
    "replicas_desired": "Agent pods the Deployment wants",
    "restarts": "Container restarts of the agent pods that exist",
    "cpu_cores": "CPU used by the agent pods (metrics API)",
    "memory_bytes": "Working-set memory of the agent pods (metrics API)",
    "http_requests_total": "HTTP requests the agent answered since its pods started",
    "http_requests_per_second": "HTTP requests answered per second over the last interval",
    "http_errors_per_second": "HTTP answers with a 5xx status per second over the last interval",
    "http_latency_ms": "Mean HTTP latency over the last interval, in milliseconds",
    "runs_pending": "Runs waiting in the agent's queue",
    "runs_running": "Runs executing",
}
GAUGES = {name: Gauge(f"lgcp_deployment_{name}", help_text, LABELS) for name, help_text in FIGURES.items()}


class Exposition:
    """Sets the gauges of each pass and removes the label sets a pass no longer saw (a deleted
    deployment, a revision rolled away), so /metrics stays as small as what runs."""

    def __init__(self) -> None:
        self._shown: set[tuple[str, tuple[str, ...]]] = set()

    def show(self, labelled: list[tuple[tuple[str, str, str], list[dict[str, object]]]]) -> None:
        """`labelled`: per deployment its (id, name, namespace) and the points of the pass."""
        shown: set[tuple[str, tuple[str, ...]]] = set()
        for (deployment_id, name, namespace), points in labelled:
            for point in points:
                values = point["values"]
                assert isinstance(values, dict)
                labels: tuple[str, ...] = (deployment_id, name, namespace, str(point["revision_id"]))
                for figure, value in values.items():
                    if figure in GAUGES:
                        GAUGES[figure].labels(*labels).set(value)
                        shown.add((figure, labels))
        for figure, labels in self._shown - shown:
            GAUGES[figure].remove(*labels)
        self._shown = shown
