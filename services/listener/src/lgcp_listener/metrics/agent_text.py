"""The agent server's own figures from the Prometheus text its `<mount prefix>/metrics` serves.

langgraph-api names them `<prefix>http_requests_total` (label `status`),
`<prefix>http_requests_latency[_seconds]` (a histogram: milliseconds in the OpenTelemetry
exporter of current releases, seconds in older ones, whose name says so), and
`<prefix>num_pending_runs` / `<prefix>num_running_runs`; the prefix is `lg_api_` unless the
agent sets METRIC_PREFIX, so families are matched by how their names end. The page is
prometheus_client's global registry, so it also carries that library's process collector
(`process_cpu_seconds_total`, `process_resident_memory_bytes`): the server process's own CPU and
memory, used where the metrics API is not served.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

# Bigger answers are not parsed: an agent's page is a few KiB (MAX_REQUEST_COUNT_ENTRIES in
# langgraph-api bounds its label sets), and the listener's work per pass must stay bounded.
MAX_TEXT_BYTES = 512 * 1024


@dataclass(frozen=True)
class AgentSample:
    """One pod's counters and gauges as read; None: the page had no such family."""

    requests: float | None = None
    server_errors: float | None = None
    latency_ms_sum: float | None = None
    latency_count: float | None = None
    runs_pending: float | None = None
    runs_running: float | None = None
    process_cpu_seconds: float | None = None
    process_rss_bytes: float | None = None


class AgentTextError(ValueError):
    """The page is not Prometheus text (or too big to read)."""


def parse(text: str) -> AgentSample:
    """The figures of one scrape; AgentTextError when the text does not parse."""
    if len(text) > MAX_TEXT_BYTES:
        raise AgentTextError(f"the metrics page has {len(text)} characters, more than {MAX_TEXT_BYTES}")
    requests = errors = latency_sum = latency_count = pending = running = cpu = rss = None
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise AgentTextError(f"not Prometheus text: {exc}") from None
    for family in families:
        name = family.name
        if name.endswith("http_requests") and family.type == "counter":
            requests = errors = 0.0
            for s in family.samples:
                if s.name.endswith("_total"):
                    requests += s.value
                    if _status(s.labels).startswith("5"):
                        errors += s.value
        elif "http_requests_latency" in name and family.type == "histogram":
            scale = 1000.0 if name.endswith("_seconds") else 1.0
            latency_sum = sum(s.value for s in family.samples if s.name.endswith("_sum")) * scale
            latency_count = sum(s.value for s in family.samples if s.name.endswith("_count"))
        elif name.endswith("num_pending_runs"):
            pending = sum(s.value for s in family.samples)
        elif name.endswith("num_running_runs"):
            running = sum(s.value for s in family.samples)
        elif name == "process_cpu_seconds":
            cpu = sum(s.value for s in family.samples if s.name.endswith("_total"))
        elif name == "process_resident_memory_bytes":
            rss = sum(s.value for s in family.samples)
    return AgentSample(requests, errors, latency_sum, latency_count, pending, running, cpu, rss)


def _status(labels: dict[str, str]) -> str:
    return labels.get("status") or labels.get("http_status_code") or labels.get("http_response_status_code") or ""
