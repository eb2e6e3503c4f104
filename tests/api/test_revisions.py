"""Revisions over HTTP: history, new revisions, rollback, logs and listener reports."""

from __future__ import annotations

import uuid

import pytest
from api_support import ADMIN_KEY, client_for, deployment_body


@pytest.fixture
async def listener_client(role_client):
    return await role_client("listener")


async def report(client, revision_id, status, **extra):
    return await client.post(f"/listener-api/revisions/{revision_id}/status", json={"status": status, **extra})


async def test_revisions_are_listed_newest_first_and_paged(admin, deployment):
    url = f"/deployments/{deployment['id']}/revisions"
    for tag in ("2", "3"):
        response = await admin.post(url, json={"source_revision_config": {"image_uri": f"r.io/a:{tag}"}})
        assert response.status_code == 201
    listed = (await admin.get(url)).json()["resources"]
    assert [r["source_revision_config"]["image_uri"] for r in listed] == [
        "r.io/a:3",
        "r.io/a:2",
        "registry.example.com/team/agent:1.0.0",
    ]
    page = (await admin.get(url, params={"limit": 1, "offset": 1})).json()
    assert [r["id"] for r in page["resources"]] == [listed[1]["id"]] and page["offset"] == 2
    got = await admin.get(f"{url}/{listed[0]['id']}")
    assert got.status_code == 200 and got.json() == listed[0]
    assert (await admin.get(f"{url}/{uuid.uuid4()}")).status_code == 404


async def test_new_revision_keeps_secrets_and_skips_the_queued_one(admin, deployment, listener_client, listener):
    url = f"/deployments/{deployment['id']}/revisions"
    first = deployment["latest_revision_id"]
    second = (await admin.post(url, json={"source_revision_config": {"image_uri": "r.io/a:2"}})).json()
    assert second["status"] == "QUEUED"
    assert second["secrets"] == [{"name": "OPENAI_API_KEY"}]
    assert (await admin.get(f"{url}/{first}")).json()["status"] == "SKIPPED"
    state = (await listener_client.get(f"/listener-api/listeners/{listener['id']}/desired-state")).json()
    assert state["deployments"][0]["revision"]["id"] == second["id"]
    assert state["deployments"][0]["secrets"][0]["value"] == "sk-very-secret-value"


async def test_a_deploying_revision_is_interrupted_by_a_newer_one(admin, deployment, listener_client):
    first = deployment["latest_revision_id"]
    assert (await report(listener_client, first, "DEPLOYING")).status_code == 200
    url = f"/deployments/{deployment['id']}"
    await admin.patch(url, json={"source_revision_config": {"image_uri": "r.io/a:2"}})
    assert (await admin.get(f"{url}/revisions/{first}")).json()["status"] == "INTERRUPTED"
    response = await report(listener_client, first, "DEPLOYED")
    assert response.status_code == 409
    assert "INTERRUPTED" in response.json()["detail"]


async def test_deployed_moves_the_active_revision_only_then(admin, deployment, listener_client):
    rid = deployment["latest_revision_id"]
    url = f"/deployments/{deployment['id']}"
    await report(listener_client, rid, "DEPLOYING")
    assert (await admin.get(url)).json()["active_revision_id"] is None
    response = await report(listener_client, rid, "DEPLOYED", message="rollout complete")
    assert response.status_code == 200
    assert response.json()["status"] == "DEPLOYED"
    assert response.json()["status_message"] == "rollout complete"
    assert (await admin.get(url)).json()["active_revision_id"] == rid
    assert (await report(listener_client, rid, "DEPLOYING")).status_code == 409
    assert (await report(listener_client, rid, "DEPLOYED")).status_code == 200


async def test_failed_revision_keeps_the_previous_active_one(admin, deployment, listener_client):
    first = deployment["latest_revision_id"]
    url = f"/deployments/{deployment['id']}"
    await report(listener_client, first, "DEPLOYED")
    second = (await admin.patch(url, json={"source_revision_config": {"image_uri": "r.io/a:2"}})).json()
    response = await report(listener_client, second["latest_revision_id"], "DEPLOY_FAILED", message="ImagePullBackOff")
    assert response.status_code == 200
    current = (await admin.get(url)).json()
    assert current["active_revision_id"] == first
    assert (await admin.get(f"{url}/revisions/{first}")).json()["status"] == "DEPLOYED"


async def test_listener_may_not_report_api_owned_statuses(deployment, listener_client):
    response = await report(listener_client, deployment["latest_revision_id"], "SKIPPED")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]


async def test_events_become_the_revision_logs(admin, deployment, listener_client):
    rid = deployment["latest_revision_id"]
    events = [
        {
            "type": "Listener",
            "reason": "Applied",
            "message": "applied 4 objects",
            "object": "Deployment/agents/my-agent",
            "timestamp": "2026-01-01T00:00:00Z",
        },
        {
            "type": "Warning",
            "reason": "BackOff",
            "message": "Back-off pulling image",
            "object": "Pod/agents/my-agent-1",
            "timestamp": "2026-01-01T00:00:05Z",
        },
    ]
    assert (await report(listener_client, rid, "DEPLOYING", events=events)).status_code == 200
    logs = await admin.get(f"/deployments/{deployment['id']}/revisions/{rid}/logs")
    assert logs.status_code == 200
    assert [(e["type"], e["reason"]) for e in logs.json()["resources"]] == [
        ("Listener", "Applied"),
        ("Warning", "BackOff"),
    ]
    page = (
        await admin.get(f"/deployments/{deployment['id']}/revisions/{rid}/logs", params={"limit": 1, "offset": 1})
    ).json()
    assert [e["reason"] for e in page["resources"]] == ["BackOff"]
    # Kubernetes events can lack a type or a time: kept, as Normal and as received now.
    response = await report(listener_client, rid, "DEPLOYING", events=[{"type": None, "reason": "X"}])
    assert response.status_code == 200
    logs = (await admin.get(f"/deployments/{deployment['id']}/revisions/{rid}/logs")).json()["resources"]
    assert logs[-1]["type"] == "Normal" and logs[-1]["timestamp"]
    bad = await report(listener_client, rid, "DEPLOYING", events=[{"reason": "x" * 300}])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "events", 0, "reason"]


async def test_redeploy_rolls_back_to_an_earlier_revision(admin, deployment, listener_client, listener):
    url = f"/deployments/{deployment['id']}"
    first = deployment["latest_revision_id"]
    await admin.patch(
        url,
        json={
            "source_revision_config": {"image_uri": "r.io/a:2"},
            "secrets": [{"name": "OTHER", "value": "v2"}],
        },
    )
    response = await admin.post(f"{url}/revisions/{first}/redeploy")
    assert response.status_code == 201
    rollback = response.json()
    assert rollback["redeployed_from_revision_id"] == first
    assert rollback["source_revision_config"]["image_uri"] == "registry.example.com/team/agent:1.0.0"
    current = (await admin.get(url)).json()
    assert current["latest_revision_id"] == rollback["id"]
    assert current["image_version"] == "1.0.0"
    assert current["secrets"] == [{"name": "OPENAI_API_KEY"}]
    state = (await listener_client.get(f"/listener-api/listeners/{listener['id']}/desired-state")).json()
    assert state["deployments"][0]["secrets"] == [{"name": "OPENAI_API_KEY", "value": "sk-very-secret-value"}]
    assert (await admin.post(f"{url}/revisions/{uuid.uuid4()}/redeploy")).status_code == 404


async def test_revision_on_a_deployment_being_deleted_is_409(admin, deployment):
    url = f"/deployments/{deployment['id']}"
    await admin.delete(url)
    response = await admin.post(f"{url}/revisions", json={"source_revision_config": {"image_uri": "r.io/a:2"}})
    assert response.status_code == 409


async def test_revisions_of_several_deployments_are_read_by_id_in_one_call(app, admin, listener, deployment):
    other = (await admin.post("/deployments", json=deployment_body(listener["id"], "other-agent"))).json()
    newer = (
        await admin.post(
            f"/deployments/{deployment['id']}/revisions", json={"source_revision_config": {"image_uri": "r.io/a:2"}}
        )
    ).json()
    wanted = [other["latest_revision_id"], newer["id"], deployment["latest_revision_id"]]
    response = await admin.get("/revisions", params={"revision_ids": wanted})
    assert response.status_code == 200
    found = response.json()["resources"]
    assert [r["id"] for r in found] == wanted  # in the order asked
    single = f"/deployments/{deployment['id']}/revisions/{newer['id']}"
    assert found[1] == (await admin.get(single)).json()
    # Comma-separated too; unknown ids, and another tenant's, are left out rather than refused.
    tenant = (await admin.post("/tenants", json={"name": "team-r"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        mixed = f"{uuid.uuid4()},{newer['id']}"
        assert (await other_admin.get("/revisions", params={"revision_ids": mixed})).json() == {"resources": []}
        assert [
            r["id"] for r in (await admin.get("/revisions", params={"revision_ids": mixed})).json()["resources"]
        ] == [newer["id"]]


async def test_reading_revisions_by_id_names_a_bad_id_and_bounds_the_count(admin, role_client):
    response = await admin.get("/revisions", params={"revision_ids": "not-a-uuid"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "revision_ids"]
    assert "not-a-uuid" in response.json()["detail"][0]["msg"]
    too_many = ",".join(str(uuid.uuid4()) for _ in range(101))
    assert (await admin.get("/revisions", params={"revision_ids": too_many})).status_code == 422
    assert (await admin.get("/revisions")).status_code == 422
    viewer = await role_client("viewer")
    assert (await viewer.get("/revisions", params={"revision_ids": str(uuid.uuid4())})).status_code == 200
    listener = await role_client("listener")
    assert (await listener.get("/revisions", params={"revision_ids": str(uuid.uuid4())})).status_code == 403
