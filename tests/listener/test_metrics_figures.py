"""Metrics gathering, the pure parts (issue 16): the agent's Prometheus text read with
prometheus_client's parser, Kubernetes quantities, counters turned into rates across a
container restart, pods grouped by revision, and the gauges on the listener's /metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from lgcp_contract import labels as L
from lgcp_listener.metrics.agent_text import MAX_TEXT_BYTES, AgentSample, AgentTextError, parse
from lgcp_listener.metrics.exposition import Exposition
from lgcp_listener.metrics.figures import PodView, RateTracker, Usage, desired_replicas, pod_view, revision_points
from lgcp_listener.metrics.quantities import parse_quantity
from lgcp_listener.metrics.sources import pod_metrics_url
from prometheus_client import REGISTRY

# What langgraph-api 0.11's OpenTelemetry exporter serves (latency in milliseconds).
AGENT_PAGE = """\
# HELP lg_api_http_requests_total Total number of HTTP requests
# TYPE lg_api_http_requests_total counter
lg_api_http_requests_total{method="GET",path="/ok",status="200",project_id=""} 7.0
lg_api_http_requests_total{method="POST",path="/runs/wait",status="200",project_id=""} 2.0
lg_api_http_requests_total{method="POST",path="/runs/wait",status="503",project_id=""} 1.0
lg_api_http_requests_total{method="GET",path="/threads",status="404",project_id=""} 4.0
# HELP lg_api_http_requests_latency HTTP request latency
# TYPE lg_api_http_requests_latency histogram
lg_api_http_requests_latency_bucket{path="/ok",le="10.0"} 7.0
lg_api_http_requests_latency_bucket{path="/ok",le="+Inf"} 7.0
lg_api_http_requests_latency_sum{path="/ok"} 14.0
lg_api_http_requests_latency_count{path="/ok"} 7.0
lg_api_http_requests_latency_bucket{path="/runs/wait",le="+Inf"} 3.0
lg_api_http_requests_latency_sum{path="/runs/wait"} 900.0
lg_api_http_requests_latency_count{path="/runs/wait"} 3.0
# TYPE lg_api_num_pending_runs gauge
lg_api_num_pending_runs{project_id=""} 2.0
# TYPE lg_api_num_running_runs gauge
lg_api_num_running_runs{project_id=""} 1.0
# TYPE lg_api_pg_pool_max gauge
lg_api_pg_pool_max 150.0
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.68435456e+08
"""

# Older releases: their own text, latency in seconds, the unit in the name.
OLD_PAGE = """\
# TYPE lg_api_http_requests_total counter
lg_api_http_requests_total{method="GET",path="/ok",status="500"} 3
# TYPE lg_api_http_requests_latency_seconds histogram
lg_api_http_requests_latency_seconds_bucket{method="GET",path="/ok",le="+Inf"} 3
lg_api_http_requests_latency_seconds_sum{method="GET",path="/ok"} 0.3
lg_api_http_requests_latency_seconds_count{method="GET",path="/ok"} 3
"""


def test_the_agent_page_gives_requests_5xx_latency_and_runs() -> None:
    sample = parse(AGENT_PAGE)
    assert sample == AgentSample(
        requests=14.0,
        server_errors=1.0,
        latency_ms_sum=914.0,
        latency_count=10.0,
        runs_pending=2.0,
        runs_running=1.0,
        process_cpu_seconds=12.5,
        process_rss_bytes=256 * 2**20,
    )


def test_an_older_page_in_seconds_is_read_in_milliseconds() -> None:
    sample = parse(OLD_PAGE)
    assert sample.requests == 3 and sample.server_errors == 3
    assert sample.latency_ms_sum == pytest.approx(300.0) and sample.latency_count == 3
    assert sample.runs_pending is None  # not on the page: left out, not zero


def test_a_page_that_is_not_prometheus_text_or_too_big_is_refused() -> None:
    with pytest.raises(AgentTextError, match="not Prometheus text"):
        parse('{"queue": {"n_pending": 1}}\nthis is not { text')
    with pytest.raises(AgentTextError, match="more than"):
        parse("# comment\n" * (MAX_TEXT_BYTES // 5))


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", 0.25), ("123456789n", 0.123456789), ("2", 2.0), ("64Mi", 64 * 2**20), ("1500k", 1.5e6), ("12u", 12e-6)],
)
def test_quantities(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_a_bad_quantity_is_named() -> None:
    with pytest.raises(ValueError, match="'lots' is not a Kubernetes quantity"):
        parse_quantity("lots")


T0 = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


def test_rates_over_the_interval_and_across_a_container_restart() -> None:
    rates = RateTracker()
    assert (
        rates.delta("p", T0, AgentSample(requests=100, server_errors=1, latency_ms_sum=500, latency_count=100)) is None
    )
    seconds, grown = cast(
        tuple[float, AgentSample],
        rates.delta(
            "p",
            T0 + dt.timedelta(seconds=20),
            AgentSample(requests=140, server_errors=3, latency_ms_sum=900, latency_count=140),
        ),
    )
    assert seconds == 20 and grown.requests == 40 and grown.server_errors == 2 and grown.latency_ms_sum == 400
    # The counter went down: the container restarted, and counted 5 since.
    seconds, grown = cast(
        tuple[float, AgentSample], rates.delta("p", T0 + dt.timedelta(seconds=40), AgentSample(requests=5))
    )
    assert grown.requests == 5 and grown.server_errors is None
    rates.forget(set())
    assert rates.last == {}


def pod(
    name: str, revision: str, *, ready: bool = True, restarts: int = 0, ip: str | None = "10.0.0.1"
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{"name": "langgraph-server", "restartCount": restarts}],
    }
    if ip:
        status["podIP"] = ip
    return {"metadata": {"name": name, "labels": {L.REVISION_ID: revision}}, "status": status}


def test_pod_views_read_readiness_restarts_and_skip_pods_going_away() -> None:
    assert pod_view(pod("a", "r1", ready=False, restarts=3)) == PodView("a", "r1", False, 3, "10.0.0.1")
    terminating = pod("b", "r1")
    terminating["metadata"]["deletionTimestamp"] = "2026-12-02T01:00:00Z"
    assert pod_view(terminating) is None
    assert pod_view({"metadata": {"name": "c", "labels": {}}, "status": {}}) is None


def test_points_per_revision_during_a_rollout() -> None:
    pods = [
        PodView("old-1", "r1", True, 0, "10.0.0.1"),
        PodView("old-2", "r1", True, 1, "10.0.0.2"),
        PodView("new-1", "r2", False, 4, "10.0.0.3"),
    ]
    usage = {"old-1": Usage(0.1, 100.0), "old-2": Usage(0.2, 200.0), "new-1": Usage(0.05, 50.0)}
    rates = RateTracker()
    first = {"old-1": AgentSample(requests=10, latency_ms_sum=100, latency_count=10, runs_pending=1)}
    revision_points(T0, pods, ("r2", 2), usage, first, rates)
    later = T0 + dt.timedelta(seconds=10)
    second = {
        "old-1": AgentSample(requests=30, server_errors=0, latency_ms_sum=500, latency_count=30, runs_pending=3),
        "old-2": AgentSample(requests=4, latency_ms_sum=40, latency_count=4),
    }
    points: dict[object, dict[str, Any]] = {
        p["revision_id"]: p for p in revision_points(later, pods, ("r2", 2), usage, second, rates)
    }
    old, new = points["r1"]["values"], points["r2"]["values"]
    assert old["replicas_ready"] == 2 and old["restarts"] == 1 and "replicas_desired" not in old
    assert old["cpu_cores"] == pytest.approx(0.3) and old["memory_bytes"] == 300
    assert old["http_requests_total"] == 34 and old["runs_pending"] == 3
    assert old["http_requests_per_second"] == pytest.approx(2.0)  # 20 more in 10 s; old-2 has no previous scrape
    assert old["http_latency_ms"] == pytest.approx(20.0)  # 400 ms over 20 requests
    assert new == {"replicas_ready": 0, "restarts": 4, "cpu_cores": 0.05, "memory_bytes": 50.0, "replicas_desired": 2.0}
    assert points["r1"]["timestamp"] == later.isoformat()


def test_without_the_metrics_api_or_a_page_cpu_and_memory_are_left_out() -> None:
    (point,) = revision_points(T0, [PodView("a", "r1", True, 0, None)], None, None, {}, RateTracker())
    assert point["values"] == {"replicas_ready": 1, "restarts": 0}


def test_without_the_metrics_api_the_agent_process_gives_cpu_and_memory() -> None:
    pods, rates = [PodView("a", "r1", True, 0, "10.0.0.1")], RateTracker()
    revision_points(T0, pods, None, None, {"a": AgentSample(process_cpu_seconds=10, process_rss_bytes=100)}, rates)
    later = T0 + dt.timedelta(seconds=20)
    scraped = {"a": AgentSample(process_cpu_seconds=15, process_rss_bytes=300)}
    (point,) = cast(list[dict[str, Any]], revision_points(later, pods, None, None, scraped, rates))
    assert point["values"]["cpu_cores"] == pytest.approx(0.25) and point["values"]["memory_bytes"] == 300
    # The metrics API, when it answers, is what counts (the container, not one process).
    usage = {"a": Usage(0.5, 1000.0)}
    (point,) = cast(
        list[dict[str, Any]], revision_points(later + dt.timedelta(seconds=20), pods, None, usage, scraped, rates)
    )
    assert point["values"]["cpu_cores"] == 0.5 and point["values"]["memory_bytes"] == 1000


def test_desired_replicas_come_from_the_deployment_and_its_revision() -> None:
    deployment = {"metadata": {"labels": {L.REVISION_ID: "r3"}}, "spec": {"replicas": 3}}
    assert desired_replicas(deployment) == ("r3", 3)
    assert desired_replicas(None) is None
    assert desired_replicas({"metadata": {"labels": {}}, "spec": {"replicas": 1}}) is None


def test_the_agent_url_is_the_pod_itself_under_the_mount_prefix() -> None:
    assert pod_metrics_url("10.0.0.7", 8000, "/lgp/agent") == "http://10.0.0.7:8000/lgp/agent/metrics"
    assert pod_metrics_url("fd00::7", 8000, "/lgp/agent") == "http://[fd00::7]:8000/lgp/agent/metrics"


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(f"lgcp_deployment_{name}", labels)


def test_gauges_carry_deployment_labels_and_go_with_what_stopped_running() -> None:
    exposition = Exposition()
    labels = {"deployment_id": "d1", "deployment": "agent", "namespace": "agents"}
    point: dict[str, object] = {
        "revision_id": "r1",
        "timestamp": T0.isoformat(),
        "values": {"replicas_ready": 2, "cpu_cores": 0.5},
    }
    exposition.show([(("d1", "agent", "agents"), [point])])
    assert gauge("replicas_ready", **labels, revision_id="r1") == 2
    assert gauge("cpu_cores", **labels, revision_id="r1") == 0.5
    rolled: dict[str, object] = {"revision_id": "r2", "timestamp": T0.isoformat(), "values": {"replicas_ready": 1}}
    exposition.show([(("d1", "agent", "agents"), [rolled])])
    assert gauge("replicas_ready", **labels, revision_id="r1") is None
    assert gauge("cpu_cores", **labels, revision_id="r1") is None
    assert gauge("replicas_ready", **labels, revision_id="r2") == 1
    exposition.show([])
    assert gauge("replicas_ready", **labels, revision_id="r2") is None


def test_the_grafana_dashboard_charts_only_gauges_the_listener_exposes() -> None:
    import json
    import re
    from pathlib import Path

    from lgcp_listener.metrics.exposition import FIGURES

    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-deployments.json").read_text())
    used = {
        m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"lgcp_deployment_(\w+)", t["expr"])
    }
    assert used and used <= set(FIGURES), used - set(FIGURES)
    assert set(FIGURES) - used == {"http_requests_total"}  # a raw counter: the rate is charted instead
