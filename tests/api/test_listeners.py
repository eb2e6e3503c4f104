"""/v2/listeners and the listener-facing /v2/listener-api."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from api_support import ADMIN_KEY, client_for, deployment_body


async def test_listener_crud(admin):
    created = await admin.post("/listeners", json={"compute_id": "c1", "compute_config": {"k8s_namespaces": ["a"]}})
    assert created.status_code == 201
    listener = created.json()
    assert listener["compute_type"] == "k8s"
    url = f"/listeners/{listener['id']}"
    got = await admin.get(url)
    assert got.json() == listener and got.headers["ETag"] == '"1"'
    patched = await admin.patch(url, json={"compute_config": {"k8s_namespaces": ["a", "b"]}})
    assert patched.status_code == 200
    assert patched.json()["compute_config"]["k8s_namespaces"] == ["a", "b"]
    assert [x["id"] for x in (await admin.get("/listeners")).json()["resources"]] == [listener["id"]]
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).status_code == 404


async def test_compute_id_is_unique_per_tenant(admin):
    assert (await admin.post("/listeners", json={"compute_id": "c1"})).status_code == 201
    response = await admin.post("/listeners", json={"compute_id": "c1"})
    assert response.status_code == 409
    other = (await admin.post("/listeners", json={"compute_id": "c2"})).json()
    response = await admin.patch(f"/listeners/{other['id']}", json={"compute_id": "c1"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"compute_id": ""}, ["body", "compute_id"]),
        ({"compute_id": "c", "compute_type": "ecs"}, ["body", "compute_type"]),
        (
            {"compute_id": "c", "compute_config": {"k8s_namespaces": ["Bad_NS"]}},
            ["body", "compute_config", "k8s_namespaces", 0],
        ),
        (
            {"compute_id": "c", "compute_config": {"k8s_namespaces": ["a", "a"]}},
            ["body", "compute_config", "k8s_namespaces"],
        ),
    ],
)
async def test_invalid_listener_is_422(admin, body, loc):
    response = await admin.post("/listeners", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert (await admin.get("/listeners")).json()["resources"] == []


async def test_listener_with_deployments_cannot_be_deleted(admin, listener, deployment):
    response = await admin.delete(f"/listeners/{listener['id']}")
    assert response.status_code == 409


async def test_register_is_idempotent_by_compute_id(role_client):
    client = await role_client("listener")
    first = await client.post("/listener-api/register", json={"compute_id": "c9", "k8s_namespaces": ["a"]})
    again = await client.post("/listener-api/register", json={"compute_id": "c9", "k8s_namespaces": ["a"]})
    assert first.status_code == again.status_code == 200
    # Registering is contact; nothing else of the listener changes.
    assert first.json()["last_seen_at"] is not None
    assert again.json()["last_seen_at"] >= first.json()["last_seen_at"]
    assert {**first.json(), "last_seen_at": None} == {**again.json(), "last_seen_at": None}
    assert first.headers.get("etag") == again.headers.get("etag")
    changed = await client.post("/listener-api/register", json={"compute_id": "c9", "k8s_namespaces": ["a", "b"]})
    assert changed.json()["id"] == first.json()["id"]
    assert changed.json()["compute_config"]["k8s_namespaces"] == ["a", "b"]


async def test_desired_state_has_decrypted_secrets_and_the_revision_to_run(role_client, admin, listener, deployment):
    client = await role_client("listener")
    response = await client.get(f"/listener-api/listeners/{listener['id']}/desired-state")
    assert response.status_code == 200
    state = response.json()
    assert state["listener_id"] == listener["id"]
    [item] = state["deployments"]
    assert item["id"] == deployment["id"]
    assert item["namespace"] == "agents"
    assert item["secrets"] == [{"name": "OPENAI_API_KEY", "value": "sk-very-secret-value"}]
    assert item["revision"]["id"] == deployment["latest_revision_id"]
    assert item["revision"]["image_uri"] == "registry.example.com/team/agent:1.0.0"
    assert item["revision"]["status"] == "QUEUED"
    assert item["revision"]["resource_spec"]["max_scale"] == 2
    assert item["deleting"] is False
    await admin.delete(f"/deployments/{deployment['id']}")
    state = (await client.get(f"/listener-api/listeners/{listener['id']}/desired-state")).json()
    assert state["deployments"][0]["deleting"] is True


async def test_desired_state_of_named_deployments_only(role_client, admin, listener, deployment):
    """A notification names deployments: the listener reads just those, not every deployment."""
    other = (await admin.post("/deployments", json=deployment_body(listener["id"], "second-agent"))).json()
    client = await role_client("listener")
    url = f"/listener-api/listeners/{listener['id']}/desired-state"
    state = (await client.get(url, params={"deployment_id": [other["id"]]})).json()
    assert [item["id"] for item in state["deployments"]] == [other["id"]]
    assert state["deployments"][0]["secrets"] == [{"name": "OPENAI_API_KEY", "value": "sk-very-secret-value"}]
    both = (await client.get(url, params={"deployment_id": [deployment["id"], other["id"], str(uuid.uuid4())]})).json()
    assert {item["id"] for item in both["deployments"]} == {deployment["id"], other["id"]}  # unknown: absent
    everything = (await client.get(url)).json()
    assert len(everything["deployments"]) == 2
    bad = await client.get(url, params={"deployment_id": ["not-a-uuid"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "deployment_id", 0]
    too_many = await client.get(url, params={"deployment_id": [str(uuid.uuid4()) for _ in range(101)]})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["query", "deployment_id"]


async def test_namespace_defaults_to_the_listeners_first(role_client, admin, listener):
    body = deployment_body(listener["id"], "no-ns")
    del body["source_config"]["listener_config"]
    created = await admin.post("/deployments", json=body)
    assert created.status_code == 201
    # Resolved once, at creation: reordering the listener's namespaces later moves nothing.
    assert created.json()["source_config"]["listener_config"]["k8s_namespace"] == "agents"
    await admin.patch(f"/listeners/{listener['id']}", json={"compute_config": {"k8s_namespaces": ["team-b", "agents"]}})
    client = await role_client("listener")
    state = (await client.get(f"/listener-api/listeners/{listener['id']}/desired-state")).json()
    assert state["deployments"][0]["namespace"] == "agents"


async def test_namespace_is_required_when_the_listener_declares_none(admin):
    bare = (await admin.post("/listeners", json={"compute_id": "bare"})).json()
    body = deployment_body(bare["id"], "no-ns")
    del body["source_config"]["listener_config"]
    response = await admin.post("/deployments", json=body)
    assert response.status_code == 400  # a rule refusal, string detail (issue 17)
    assert response.json()["detail"].startswith("source_config.listener_config.k8s_namespace: required")
    body["source_config"]["listener_config"] = {"k8s_namespace": "anywhere"}
    assert (await admin.post("/deployments", json=body)).status_code == 201


async def test_deployment_status_reports(role_client, admin, deployment):
    client = await role_client("listener")
    url = f"/listener-api/deployments/{deployment['id']}/status"
    response = await client.post(url, json={"status": "READY", "message": None})
    assert response.status_code == 200 and response.json()["status"] == "READY"
    assert (await admin.get(f"/deployments/{deployment['id']}")).json()["status"] == "READY"
    response = await client.post(url, json={"status": "AWAITING_DELETE"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "status"]
    response = await client.post(url, json={"status": "BOGUS"})
    assert response.status_code == 422
    await admin.delete(f"/deployments/{deployment['id']}")
    assert (await client.post(url, json={"status": "READY"})).status_code == 409


async def test_deleted_report_forgets_only_deployments_being_deleted(role_client, admin, deployment):
    client = await role_client("listener")
    url = f"/listener-api/deployments/{deployment['id']}/deleted"
    assert (await client.post(url)).status_code == 409
    await admin.delete(f"/deployments/{deployment['id']}")
    assert (await client.post(url)).status_code == 204
    assert (await admin.get(f"/deployments/{deployment['id']}")).status_code == 404
    assert (await client.post(url)).status_code == 404


async def test_unknown_ids_on_listener_api_are_404(role_client):
    client = await role_client("listener")
    rid = uuid.uuid4()
    assert (await client.get(f"/listener-api/listeners/{rid}/desired-state")).status_code == 404
    assert (await client.post(f"/listener-api/revisions/{rid}/status", json={"status": "DEPLOYING"})).status_code == 404
    assert (await client.post(f"/listener-api/deployments/{rid}/status", json={"status": "READY"})).status_code == 404


async def test_listener_errors(admin, role_client):
    missing = f"/listeners/{uuid.uuid4()}"
    assert (await admin.get(missing)).status_code == 404
    assert (await admin.patch(missing, json={"compute_id": "x"})).status_code == 404
    assert (await admin.delete(missing)).status_code == 404
    listener = await role_client("listener")
    response = await listener.post("/listener-api/register", json={"compute_id": "c", "k8s_namespaces": ["Not_Valid"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "k8s_namespaces", 0]


async def test_removing_a_namespace_in_use_is_409(admin, listener, deployment):
    url = f"/listeners/{listener['id']}"
    response = await admin.patch(url, json={"compute_config": {"k8s_namespaces": ["team-b"]}})
    assert response.status_code == 409
    assert "my-agent" in response.json()["detail"]
    assert (await admin.get(url)).json()["compute_config"]["k8s_namespaces"] == ["agents", "team-b"]
    response = await admin.patch(url, json={"compute_config": {"k8s_namespaces": ["agents"]}})
    assert response.status_code == 200


async def test_last_seen_at_records_contact_at_most_once_per_interval(app, admin, role_client, listener):
    from lgcp_api.listeners.contact import ContactRecorder

    app.state.listener_contact = ContactRecorder(interval=0.5)
    url = f"/listeners/{listener['id']}"
    fresh = await admin.get(url)
    assert fresh.json()["last_seen_at"] is None
    client = await role_client("listener")
    state_url = f"/listener-api/listeners/{listener['id']}/desired-state"
    assert (await client.get(state_url)).status_code == 200
    first = await admin.get(url)
    assert first.json()["last_seen_at"] is not None
    # Within the interval: no write.
    assert (await client.get(state_url)).status_code == 200
    assert (await admin.get(url)).json()["last_seen_at"] == first.json()["last_seen_at"]
    await asyncio.sleep(0.6)
    assert (await client.get(state_url)).status_code == 200
    later = await admin.get(url)
    assert later.json()["last_seen_at"] > first.json()["last_seen_at"]
    # Contact is not a change: the ETag (what If-Match checks) stays as it was.
    assert fresh.headers["etag"] == first.headers["etag"] == later.headers["etag"]
    listed = (await admin.get("/listeners")).json()["resources"]
    assert listed[0]["last_seen_at"] == later.json()["last_seen_at"]


async def test_another_tenants_listener_is_never_marked_seen(app, admin, listener):
    tenant = (await admin.post("/tenants", json={"name": "team-c"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        key = (await other_admin.post("/api-keys", json={"name": "c", "role": "listener"})).json()["key"]
    async with client_for(app, key) as other:
        response = await other.get(f"/listener-api/listeners/{listener['id']}/desired-state")
        assert response.status_code == 404
    assert (await admin.get(f"/listeners/{listener['id']}")).json()["last_seen_at"] is None
