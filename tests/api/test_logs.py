"""Runtime logs (issue 17): what the listener ships is stored within bounds and served in
LangSmith's shape at the v1 paths langgraph-cli calls and at v2, with each filter the CLI passes."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from harness.log_entries import T0, entry
from lgcp_api.logs import service as logs_service


@pytest.fixture
async def shipped(role_client, deployment) -> dict:
    """A deployment with five entries shipped by its listener."""
    listener = await role_client("listener")
    revision_id = deployment["latest_revision_id"]
    entries = [
        entry(0, "server starting", revision_id=revision_id),
        entry(1, "Pulled image", origin="event", revision_id=revision_id),
        entry(2, "connected to postgres", revision_id=revision_id),
        entry(3, "Traceback: boom", level="ERROR", revision_id=revision_id),
        entry(4, "applied revision", origin="listener"),
    ]
    response = await listener.post(f"/listener-api/deployments/{deployment['id']}/logs", json={"entries": entries})
    assert response.status_code == 204, response.text
    return deployment


def v1(admin: httpx.AsyncClient, path: str) -> str:
    # The v1 paths sit beside /v2 under the API prefix.
    return str(admin.base_url).rstrip("/").removesuffix("/v2") + "/v1" + path


async def messages(admin, path: str, **body) -> list[str]:
    response = await admin.post(v1(admin, path), json=body)
    assert response.status_code == 200, response.text
    return [e["message"] for e in response.json()["logs"]]


async def test_the_cli_shape_newest_first_with_ms_timestamps(admin, shipped):
    response = await admin.post(
        v1(admin, f"/projects/{shipped['id']}/deploy_logs"), json={"limit": 100, "order": "desc"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["message"] for e in body["logs"]][:2] == ["applied revision", "Traceback: boom"]
    newest = body["logs"][0]
    assert newest["timestamp"] == int((T0 + dt.timedelta(seconds=4)).timestamp() * 1000)
    assert set(newest) >= {"id", "timestamp", "level", "message"} and body["next_offset"] is None


async def test_each_filter_the_cli_passes(admin, shipped):
    path = f"/projects/{shipped['id']}/deploy_logs"
    assert await messages(admin, path, level="ERROR") == ["Traceback: boom"]
    assert await messages(admin, path, level="WARNING") == ["Traceback: boom"]  # and more severe
    assert await messages(admin, path, query="POSTGRES") == ["connected to postgres"]
    start, end = (T0 + dt.timedelta(seconds=1)).isoformat(), (T0 + dt.timedelta(seconds=3)).isoformat()
    assert await messages(admin, path, start_time=start, end_time=end, order="asc") == [
        "Pulled image",
        "connected to postgres",
    ]
    first = await admin.post(v1(admin, path), json={"limit": 2, "order": "asc"})
    assert [e["message"] for e in first.json()["logs"]] == ["server starting", "Pulled image"]
    assert first.json()["next_offset"] == 2
    assert await messages(admin, path, limit=2, order="asc", offset=2) == ["connected to postgres", "Traceback: boom"]


async def test_a_revisions_logs_at_v1_and_v2(admin, shipped):
    revision_id = shipped["latest_revision_id"]
    on_v1 = await messages(admin, f"/projects/{shipped['id']}/revisions/{revision_id}/deploy_logs", order="asc")
    assert on_v1 == ["server starting", "Pulled image", "connected to postgres", "Traceback: boom"]
    on_v2 = await admin.post(f"/deployments/{shipped['id']}/revisions/{revision_id}/logs", json={"order": "asc"})
    assert [e["message"] for e in on_v2.json()["logs"]] == on_v1
    everything = await admin.post(f"/deployments/{shipped['id']}/logs", json={})
    assert len(everything.json()["logs"]) == 5


async def test_bad_queries_are_refused_with_a_string_detail(admin, shipped):
    path = v1(admin, f"/projects/{shipped['id']}/deploy_logs")
    response = await admin.post(path, json={"start_time": T0.isoformat(), "end_time": T0.isoformat()})
    assert response.status_code == 400 and response.json()["detail"] == "start_time: must be before end_time"
    assert (await admin.post(path, json={"level": "LOUD"})).status_code == 422


async def test_build_logs_say_there_is_no_build_here(admin, deployment):
    path = v1(admin, f"/projects/{deployment['id']}/revisions/{deployment['latest_revision_id']}/build_logs")
    response = await admin.post(path, json={"order": "asc", "limit": 50, "offset": 0})
    assert response.status_code == 200
    assert "prebuilt images" in response.json()["logs"][0]["message"]


async def test_only_listener_keys_report_and_only_for_their_tenant(role_client, admin, deployment):
    reader = await role_client("viewer")
    url = f"/listener-api/deployments/{deployment['id']}/logs"
    assert (await reader.post(url, json={"entries": []})).status_code == 403
    assert (
        await admin.post(v1(admin, "/projects/00000000-0000-0000-0000-000000000000/deploy_logs"), json={})
    ).status_code == 404


async def test_the_api_keeps_only_the_newest_entries(role_client, admin, deployment, monkeypatch):
    monkeypatch.setattr(logs_service, "KEEP_PER_DEPLOYMENT", 3)
    listener = await role_client("listener")
    url = f"/listener-api/deployments/{deployment['id']}/logs"
    for second in range(5):
        assert (await listener.post(url, json={"entries": [entry(second, f"line {second}")]})).status_code == 204
    kept = await messages(admin, f"/projects/{deployment['id']}/deploy_logs", order="asc")
    assert kept == ["line 2", "line 3", "line 4"]


async def test_entries_past_the_retention_are_dropped(role_client, admin, deployment):
    listener = await role_client("listener")
    old = entry(0, "last month") | {"timestamp": (T0 - dt.timedelta(days=30)).isoformat()}
    url = f"/listener-api/deployments/{deployment['id']}/logs"
    assert (await listener.post(url, json={"entries": [old, entry(0, "today")]})).status_code == 204
    assert await messages(admin, f"/projects/{deployment['id']}/deploy_logs") == ["today"]


async def test_logs_go_with_their_deployment(role_client, admin, shipped):
    assert (await admin.delete(f"/deployments/{shipped['id']}")).status_code in (202, 204)
    listener = await role_client("listener")
    assert (await listener.post(f"/listener-api/deployments/{shipped['id']}/deleted")).status_code == 204
    response = await admin.post(v1(admin, f"/projects/{shipped['id']}/deploy_logs"), json={})
    assert response.status_code == 404


def step(second: int, status: str, message: str) -> dict:
    """A line of the listener's own, as its status reporter sends it beside a status."""
    when = (T0 + dt.timedelta(seconds=second)).isoformat()
    return {
        "type": "Listener",
        "reason": status,
        "message": message,
        "object": "Deployment/agents/a",
        "timestamp": when,
    }


async def test_the_listeners_steps_are_log_entries_and_a_failure_is_an_error(role_client, admin, deployment):
    listener = await role_client("listener")
    revision_id = deployment["latest_revision_id"]
    status_url = f"/listener-api/revisions/{revision_id}/status"
    applied = {"status": "DEPLOYING", "events": [step(0, "DEPLOYING", "applied r.io/a:1 to agents/a")]}
    assert (await listener.post(status_url, json=applied)).status_code == 200
    why = "crash loop (CrashLoopBackOff, 3 restarts, last exit code 1)"
    failed = {
        "status": "DEPLOY_FAILED",
        "message": why,
        "events": [
            # A pod's event: the log shipping sends those itself, so it is not stored twice.
            {"type": "Warning", "reason": "BackOff", "message": "back-off", "object": "Pod/a-1", "timestamp": None},
            {"type": "Normal", "reason": "ScalingReplicaSet", "message": "scaled up", "object": "Deployment/a"},
            step(2, "DEPLOY_FAILED", why),
        ],
    }
    assert (await listener.post(status_url, json=failed)).status_code == 200
    path = v1(admin, f"/projects/{deployment['id']}/revisions/{revision_id}/deploy_logs")
    body = (await admin.post(path, json={"order": "asc"})).json()
    assert [(e["origin"], e["level"], e["message"]) for e in body["logs"] if e["origin"] == "listener"] == [
        ("listener", "INFO", "DEPLOYING: applied r.io/a:1 to agents/a"),
        ("listener", "ERROR", f"DEPLOY_FAILED: {why}"),
    ]
    assert [e["message"] for e in body["logs"] if e["origin"] == "event"] == [
        "Deployment/a: ScalingReplicaSet: scaled up"
    ]
    # What `langgraph deploy logs --level error` asks: the reason the revision failed.
    assert await messages(admin, f"/projects/{deployment['id']}/deploy_logs", level="ERROR") == [
        f"DEPLOY_FAILED: {why}"
    ]


async def test_a_refused_status_report_leaves_no_step_in_the_logs(role_client, admin, deployment):
    listener = await role_client("listener")
    status_url = f"/listener-api/revisions/{deployment['latest_revision_id']}/status"
    done = {"status": "DEPLOYED", "events": [step(0, "DEPLOYED", "rollout complete")]}
    assert (await listener.post(status_url, json=done)).status_code == 200
    # A deployed revision moves no more: the refused report and its line are one transaction.
    again = {"status": "DEPLOYING", "events": [step(1, "DEPLOYING", "applied r.io/a:1 to agents/a")]}
    response = await listener.post(status_url, json=again)
    assert response.status_code == 409, response.text
    assert await messages(admin, f"/projects/{deployment['id']}/deploy_logs") == ["DEPLOYED: rollout complete"]
