"""The fault suite's careful client (fault_writes.Writer) on the real API, without a fault: a
listener's status report between the client's read and its PATCH changes the deployment's ETag
(the status is part of what a GET returns), so the PATCH gets a 412, reads again and succeeds.
The ledger must tell that race apart from a refusal the suite should fail on: the soak counted
it as an error (CI at 484c80b, `errors_by_kind == {'412': 1}`)."""

from __future__ import annotations

import asyncio

import pytest
from fault_writes import Writer
from processes_support import start_api


@pytest.fixture
async def api(postgres_server, redis_server):
    dsn = await postgres_server.create_database()
    process = await asyncio.to_thread(start_api, dsn, redis_server.url(0))
    yield process
    process.stop()


@pytest.fixture
async def admin(api):
    client = api.admin()
    yield client
    await client.aclose()


@pytest.fixture
async def writer(api, admin):
    listener = (
        await admin.post("/listeners", json={"compute_id": "careful", "compute_config": {"k8s_namespaces": ["agents"]}})
    ).json()
    client = Writer(api.url, api.admin_key, listener["id"], "agents", deadline=30)
    yield client
    await client.aclose()


async def test_a_status_report_between_read_and_patch_is_a_race_not_a_refusal(admin, writer) -> None:
    key = (await admin.post("/api-keys", json={"name": "listener", "role": "listener"})).json()["key"]
    deployment_id = await writer.create("careful-1", "registry.test/agent:0")
    read = writer._read

    async def read_then_listener_reports(*args):
        answer = await read(*args)
        if writer.ledger.answers["412"] == 0:  # only before the first PATCH is sent
            reported = await admin.post(
                f"/listener-api/deployments/{deployment_id}/status",
                json={"status": "READY"},
                headers={"X-Api-Key": key},
            )
            assert reported.status_code == 200, reported.text
        return answer

    writer._read = read_then_listener_reports  # type: ignore[method-assign]
    await writer.patch(deployment_id, "registry.test/agent:1")

    assert writer.ledger.answers["412"] == 1, writer.ledger.summary()  # the race really happened
    assert writer.ledger.status_races == 1
    assert writer.ledger.refusals() == {}, writer.ledger.summary()
    now = (await admin.get(f"/deployments/{deployment_id}")).json()
    assert now["source_revision_config"]["image_uri"] == "registry.test/agent:1"
    assert writer.ledger.revisions[deployment_id] == 1


async def test_a_412_no_report_explains_stays_a_refusal(admin, writer) -> None:
    """Another client's write between read and PATCH is not the listener's: counted as a refusal."""
    deployment_id = await writer.create("careful-2", "registry.test/agent:0")
    read = writer._read

    async def read_then_someone_else_writes(*args):
        answer = await read(*args)
        if writer.ledger.answers["412"] == 0:
            other = await admin.patch(
                f"/deployments/{deployment_id}",
                json={"source_revision_config": {"image_uri": "registry.test/agent:9"}},
            )
            assert other.status_code == 200, other.text
        return answer

    writer._read = read_then_someone_else_writes  # type: ignore[method-assign]
    await writer.patch(deployment_id, "registry.test/agent:1")

    assert writer.ledger.status_races == 0
    assert writer.ledger.refusals() == {"412": 1}, writer.ledger.summary()
