"""From what one pass read to the points shipped: pods grouped by revision, counters turned
into rates. Pure: no I/O, so each rule is tested on plain data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from lgcp_contract import labels as L

from ..objects import Manifest
from .agent_text import AgentSample


@dataclass(frozen=True)
class PodView:
    """What a pass reads of one agent pod from the informer cache (its spec is not kept there)."""

    name: str
    revision_id: str
    ready: bool
    restarts: int
    ip: str | None


def pod_view(pod: Manifest) -> PodView | None:
    """The pod as the figures need it; None for a pod without a revision label (not ours)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    revision_id = (meta.get("labels") or {}).get(L.REVISION_ID)
    if not revision_id or meta.get("deletionTimestamp"):
        return None
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    return PodView(meta["name"], revision_id, ready, restarts, status.get("podIP") or None)


@dataclass(frozen=True)
class Usage:
    cpu_cores: float
    memory_bytes: float


@dataclass(frozen=True)
class _Seen:
    at: dt.datetime
    sample: AgentSample


@dataclass
class RateTracker:
    """The previous scrape of each pod, to turn its counters into rates over the interval. A
    counter that went down restarted with its container: its value is what it counted since."""

    last: dict[str, _Seen] = field(default_factory=dict)

    def delta(self, pod: str, at: dt.datetime, sample: AgentSample) -> tuple[float, AgentSample] | None:
        """Seconds since the pod's previous scrape and what its counters grew by; None the first time."""
        previous, self.last[pod] = self.last.get(pod), _Seen(at, sample)
        if previous is None or at <= previous.at:
            return None
        before = previous.sample
        return (at - previous.at).total_seconds(), AgentSample(
            requests=_grown(before.requests, sample.requests),
            server_errors=_grown(before.server_errors, sample.server_errors),
            latency_ms_sum=_grown(before.latency_ms_sum, sample.latency_ms_sum),
            latency_count=_grown(before.latency_count, sample.latency_count),
            process_cpu_seconds=_grown(before.process_cpu_seconds, sample.process_cpu_seconds),
        )

    def forget(self, keep: set[str]) -> None:
        for pod in set(self.last) - keep:
            del self.last[pod]


def _grown(before: float | None, now: float | None) -> float | None:
    if now is None:
        return None
    if before is None or now < before:
        return now
    return now - before


@dataclass
class _Revision:
    values: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    latency_sum: float = 0.0
    latency_count: float = 0.0


def revision_points(
    at: dt.datetime,
    pods: list[PodView],
    desired: tuple[str, int] | None,
    usage: dict[str, Usage] | None,
    scraped: dict[str, AgentSample],
    rates: RateTracker,
) -> list[dict[str, object]]:
    """One point per revision seen: its pods' readiness and restarts, the Deployment's desired
    replicas (`desired`: its revision and count), CPU and memory when the metrics API answered
    (`usage` by pod; None: not available; else the agent process's own, from its page), and the
    agent's figures of the pods scraped."""
    revisions: dict[str, _Revision] = defaultdict(_Revision)
    for pod in pods:
        r = revisions[pod.revision_id]
        r.values["replicas_ready"] += 1 if pod.ready else 0
        r.values["restarts"] += pod.restarts
        pod_usage = usage.get(pod.name) if usage is not None else None
        measured = pod_usage is not None
        if pod_usage is not None:
            r.values["cpu_cores"] += pod_usage.cpu_cores
            r.values["memory_bytes"] += pod_usage.memory_bytes
        sample = scraped.get(pod.name)
        if sample is None:
            continue
        if not measured and sample.process_rss_bytes is not None:
            # No metrics API: the server process's own memory (its CPU follows from the rate).
            r.values["memory_bytes"] += sample.process_rss_bytes
        for figure, value in (
            ("http_requests_total", sample.requests),
            ("runs_pending", sample.runs_pending),
            ("runs_running", sample.runs_running),
        ):
            if value is not None:
                r.values[figure] += value
        grown = rates.delta(pod.name, at, sample)
        if grown is None:
            continue
        seconds, delta = grown
        if delta.requests is not None:
            r.values["http_requests_per_second"] += delta.requests / seconds
        if delta.server_errors is not None:
            r.values["http_errors_per_second"] += delta.server_errors / seconds
        if not measured and delta.process_cpu_seconds is not None:
            r.values["cpu_cores"] += delta.process_cpu_seconds / seconds
        if delta.latency_ms_sum is not None and delta.latency_count:
            r.latency_sum += delta.latency_ms_sum
            r.latency_count += delta.latency_count
    if desired is not None:
        revision_id, replicas = desired
        revisions[revision_id].values["replicas_desired"] = float(replicas)
    points: list[dict[str, object]] = []
    for revision_id, r in sorted(revisions.items()):
        values = dict(r.values)
        if r.latency_count:
            values["http_latency_ms"] = r.latency_sum / r.latency_count
        points.append({"revision_id": revision_id, "timestamp": at.isoformat(), "values": values})
    return points


def desired_replicas(deployment: Manifest | None) -> tuple[str, int] | None:
    """The revision a Deployment runs and how many replicas it wants; None when unknown."""
    if deployment is None:
        return None
    revision_id = ((deployment.get("metadata") or {}).get("labels") or {}).get(L.REVISION_ID)
    replicas = (deployment.get("spec") or {}).get("replicas")
    if not revision_id or replicas is None:
        return None
    return revision_id, int(replicas)
