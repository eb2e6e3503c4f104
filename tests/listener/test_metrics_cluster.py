"""Metrics from the cluster to the API (issue 16), on the simulated cluster: the running
listener gathers ready and desired replicas and restarts from its informer cache, ships them,
and the API serves them; a crash-looping revision shows restarts rising and no pod ready; the
listener's own /metrics carries the same figures with deployment labels. The simulated cluster
has no metrics API and its pods serve nothing, so CPU, memory and the agent's own figures stay
empty here (the real-node suite checks them)."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster


def latest(body: dict[str, Any], figure: str) -> float | None:
    (series,) = [s for s in body["series"] if s["figure"] == figure]
    return series["points"][-1]["value"] if series["points"] else None


async def metrics_of(stack: Stack, deployment: dict[str, Any]) -> dict[str, Any]:
    response = await stack.admin.get(f"/deployments/{deployment['id']}/metrics")
    assert response.status_code == 200, response.text
    return cast(dict[str, Any], response.json())


async def test_replicas_and_restarts_reach_the_api_and_the_listeners_metrics(stack: Stack) -> None:
    listener = stack.start(LGCP_LISTENER_METRICS_INTERVAL_SECONDS="2")
    await stack.registered()
    healthy = await stack.create()
    crashing = await stack.create(image="registry.test/agents/lgcp-fail-crashloop:1")

    async def healthy_ready() -> dict[str, Any] | None:
        body = await metrics_of(stack, healthy)
        return body if latest(body, "replicas_ready") == 1 and latest(body, "replicas_desired") == 1 else None

    body = await eventually(healthy_ready, 90, interval=1)
    assert latest(body, "restarts") == 0
    assert [m["revision_id"] for m in body["revisions"]] == [healthy["latest_revision_id"]]
    # No metrics API and no real pods on the simulated cluster: these are left out, not zero.
    assert latest(body, "cpu_cores") is None and latest(body, "http_requests_total") is None

    async def restarted(after: float) -> float | None:
        found = latest(await metrics_of(stack, crashing), "restarts")
        return found if found is not None and found > after else None

    first = await eventually(lambda: restarted(0), 90, interval=1)
    assert await eventually(lambda: restarted(first), 60, interval=1) > first
    assert latest(await metrics_of(stack, crashing), "replicas_ready") == 0

    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{listener.health_port}/metrics")).text
    line = next(
        (
            row
            for row in text.splitlines()
            if row.startswith("lgcp_deployment_replicas_ready{") and f'deployment_id="{healthy["id"]}"' in row
        ),
        None,
    )
    assert line is not None, text[-2000:]
    assert f'deployment="{healthy["name"]}"' in line and f'namespace="{stack.namespace}"' in line
    assert f'revision_id="{healthy["latest_revision_id"]}"' in line and line.endswith(" 1.0")
