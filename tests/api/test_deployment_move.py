"""POST /v2/deployments/{id}/move: a deployment handed to another listener, with its data where
both listeners share the database servers, and refused (nothing changed) where they do not
unless the admin accepts new databases."""

from __future__ import annotations

import uuid

import pytest
from api_support import deployment_body
from lgcp_contract.data_stores import DEDICATED, shared_store
from test_notifications import entries

SHARED = shared_store(uuid.uuid4())


@pytest.fixture
async def listener_key(role_client):
    return await role_client("listener")


async def register(client, compute_id: str, namespaces: list[str], data_store: str | None) -> dict:
    body = {"compute_id": compute_id, "k8s_namespaces": namespaces, "data_store": data_store}
    response = await client.post("/listener-api/register", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def desired_ids(client, listener_id: str) -> list[str]:
    state = (await client.get(f"/listener-api/listeners/{listener_id}/desired-state")).json()
    return [item["id"] for item in state["deployments"]]


async def test_a_move_between_listeners_sharing_databases_keeps_them(admin, listener_key, redis_url):
    old = await register(listener_key, "eu-1", ["agents"], SHARED)
    new = await register(listener_key, "eu-2", ["agents-2"], SHARED)
    created = (await admin.post("/deployments", json=deployment_body(old["id"]))).json()
    url = f"/deployments/{created['id']}"
    before = (await admin.get(url)).headers["ETag"]

    response = await admin.post(f"{url}/move", json={"listener_id": new["id"]}, headers={"If-Match": before})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["databases"] == "kept" and answer["warning"] is None
    moved = answer["deployment"]
    assert moved["source_config"]["listener_id"] == new["id"]
    # The old namespace is not the new listener's: its first one is taken.
    assert moved["source_config"]["listener_config"]["k8s_namespace"] == "agents-2"
    assert moved["status"] == "AWAITING_DATABASE"
    assert moved["latest_revision_id"] != created["latest_revision_id"]
    assert response.headers["ETag"] != before
    revisions = (await admin.get(f"{url}/revisions")).json()["resources"]
    latest = revisions[0]
    assert latest["id"] == moved["latest_revision_id"] and latest["status"] == "QUEUED"
    assert latest["redeployed_from_revision_id"] == created["latest_revision_id"]
    # The first revision was still QUEUED: the move supersedes it.
    assert revisions[1]["status"] != "QUEUED"
    # Only the new listener is to run it now, with its secrets; both were woken.
    assert await desired_ids(listener_key, old["id"]) == []
    assert await desired_ids(listener_key, new["id"]) == [created["id"]]
    state = (await listener_key.get(f"/listener-api/listeners/{new['id']}/desired-state")).json()
    assert state["deployments"][0]["secrets"] == [{"name": "OPENAI_API_KEY", "value": "sk-very-secret-value"}]
    assert state["deployments"][0]["namespace"] == "agents-2"
    assert (await entries(redis_url, old["id"]))[-1] == {"deployment_id": created["id"], "change": "moved"}
    assert (await entries(redis_url, new["id"]))[-1] == {"deployment_id": created["id"], "change": "revision"}
    # The old listener runs nothing now and can be deleted.
    assert (await admin.delete(f"/listeners/{old['id']}")).status_code == 204


@pytest.mark.parametrize(
    ("old_store", "new_store"),
    [(SHARED, shared_store(uuid.uuid4())), (DEDICATED, DEDICATED), (None, SHARED), (SHARED, None)],
)
async def test_a_move_that_would_leave_the_data_behind_is_refused_until_accepted(
    admin, listener_key, old_store, new_store
):
    old = await register(listener_key, "eu-1", ["agents"], old_store)
    new = await register(listener_key, "us-1", ["agents"], new_store)
    created = (await admin.post("/deployments", json=deployment_body(old["id"]))).json()
    url = f"/deployments/{created['id']}"

    refused = await admin.post(f"{url}/move", json={"listener_id": new["id"]})

    assert refused.status_code == 409
    assert "empty databases" in refused.json()["detail"] and "allow_new_databases=true" in refused.json()["detail"]
    unchanged = (await admin.get(url)).json()
    assert unchanged == created
    assert len((await admin.get(f"{url}/revisions")).json()["resources"]) == 1

    accepted = await admin.post(f"{url}/move", json={"listener_id": new["id"], "allow_new_databases": True})

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["databases"] == "new"
    assert "empty databases" in accepted.json()["warning"] and "not dropped" in accepted.json()["warning"]
    # Same namespace name, which the new listener has.
    assert accepted.json()["deployment"]["source_config"]["listener_config"]["k8s_namespace"] == "agents"
    assert await desired_ids(listener_key, new["id"]) == [created["id"]]


async def test_a_registration_without_a_data_store_keeps_the_one_reported(listener_key):
    first = await register(listener_key, "eu-1", ["agents"], SHARED)
    assert first["data_store"] == SHARED
    again = await register(listener_key, "eu-1", ["agents"], None)
    assert again["data_store"] == SHARED
    changed = await register(listener_key, "eu-1", ["agents"], DEDICATED)
    assert changed["data_store"] == DEDICATED


async def test_a_data_store_that_could_carry_an_address_is_refused(listener_key):
    body = {"compute_id": "eu-1", "data_store": "external:postgresql://user:pw@db/x"}
    response = await listener_key.post("/listener-api/register", json=body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "data_store"]
    assert "pw@db" not in response.text


async def test_bad_moves_are_refused_naming_what_is_wrong_and_change_nothing(admin, listener_key, role_client):
    old = await register(listener_key, "eu-1", ["agents"], SHARED)
    new = await register(listener_key, "eu-2", ["agents-2"], SHARED)
    created = (await admin.post("/deployments", json=deployment_body(old["id"]))).json()
    url = f"/deployments/{created['id']}"
    cases = [
        ({"listener_id": old["id"]}, 400, "listener_id: the deployment already runs on this listener"),
        ({"listener_id": str(uuid.uuid4())}, 400, "listener_id: no such listener in this tenant"),
        ({"listener_id": new["id"], "k8s_namespace": "agents"}, 400, "k8s_namespace: not a namespace of the listener"),
    ]
    for body, code, detail in cases:
        response = await admin.post(f"{url}/move", json=body)
        assert response.status_code == code and response.json()["detail"].startswith(detail), response.text
    malformed = await admin.post(f"{url}/move", json={"listener_id": "nope"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body", "listener_id"]
    stale = await admin.post(f"{url}/move", json={"listener_id": new["id"]}, headers={"If-Match": '"999"'})
    assert stale.status_code == 412
    deployer = await role_client("deployer")
    forbidden = await deployer.post(f"{url}/move", json={"listener_id": new["id"]})
    assert forbidden.status_code == 403
    assert (await admin.get(url)).json() == created
    await admin.delete(url)
    deleting = await admin.post(f"{url}/move", json={"listener_id": new["id"]})
    assert deleting.status_code == 409 and deleting.json()["detail"] == "the deployment is being deleted"
    assert await desired_ids(listener_key, new["id"]) == []


async def test_a_move_retried_with_its_idempotency_key_moves_once_and_answers_the_same(admin, listener_key, redis_url):
    old = await register(listener_key, "eu-1", ["agents"], SHARED)
    new = await register(listener_key, "eu-2", ["agents"], SHARED)
    created = (await admin.post("/deployments", json=deployment_body(old["id"]))).json()
    url = f"/deployments/{created['id']}"
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = await admin.post(f"{url}/move", json={"listener_id": new["id"]}, headers=headers)
    woken = len(await entries(redis_url, new["id"]))
    again = await admin.post(f"{url}/move", json={"listener_id": new["id"]}, headers=headers)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text  # without the key: 400 "already runs on this listener"
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    revisions = (await admin.get(f"{url}/revisions")).json()["resources"]
    assert len(revisions) == 2  # the first and the move's: one move
    assert len(await entries(redis_url, new["id"])) == woken  # a replay wakes no one
    # The same key with another body is refused, as on every other POST.
    other = await register(listener_key, "eu-3", ["agents"], SHARED)
    reused = await admin.post(f"{url}/move", json={"listener_id": other["id"]}, headers=headers)
    assert reused.status_code == 422, reused.text
    assert (await admin.get(url)).json()["source_config"]["listener_id"] == new["id"]
    # Without a key, a repeat is refused naming the field.
    repeat = await admin.post(f"{url}/move", json={"listener_id": new["id"]})
    assert repeat.status_code == 400 and "already runs on this listener" in repeat.text
