"""Moving a deployment between two listeners (two data planes) that share the agents' Postgres
server: the new listener rolls it out in its namespace on the kept database, the old one removes
its objects and drops nothing. Both listeners are real processes, against the real API."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
import pytest
from harness.cluster import LocalCluster
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from lgcp_listener.databases.shared.identifiers import identifier
from listener_support import eventually, make_namespace
from processes_support import ApiProcess, Stack

pytestmark = pytest.mark.cluster


def env_database_uri(stack: Stack, deployment: dict[str, Any]) -> str:
    data = stack.cluster.get_json("secret", deployment["name"] + "-env", "-n", stack.namespace)["data"]
    return base64.b64decode(data["DATABASE_URI"]).decode()


async def test_a_deployment_moved_to_a_listener_sharing_the_database_keeps_its_data(
    stack: Stack,
    api: ApiProcess,
    local_cluster: LocalCluster,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
) -> None:
    old = stack
    old.start(LGCP_LISTENER_RESYNC_SECONDS="3600")
    await old.registered()
    key = old.env["LGCP_LISTENER_API_KEY"]
    # A second data plane: another listener, namespace and lease, on the same Postgres server.
    new = Stack(
        api, local_cluster, postgres_server, redis_server, old.admin, make_namespace(local_cluster), key, old.admin_db
    )
    try:
        new.start(LGCP_LISTENER_RESYNC_SECONDS="3600")
        await new.registered()
        listeners = {
            item["id"]: item for item in (await old.admin.get("/listeners", params={"limit": 100})).json()["resources"]
        }
        store = listeners[old.listener_id]["data_store"]
        assert store.startswith("shared:") and listeners[new.listener_id]["data_store"] == store

        deployment = await old.create()
        await old.wait_revision(deployment, "DEPLOYED")
        first_uri = env_database_uri(old, deployment)
        agent = await asyncpg.connect(first_uri)
        try:
            await agent.execute("CREATE TABLE threads_kept (id text); INSERT INTO threads_kept VALUES ('thread-1')")
        finally:
            await agent.close()

        moved = await old.admin.post(
            f"/deployments/{deployment['id']}/move",
            json={"listener_id": new.listener_id, "k8s_namespace": new.namespace},
        )

        assert moved.status_code == 200, moved.text
        assert moved.json()["databases"] == "kept"
        revision_id = moved.json()["deployment"]["latest_revision_id"]
        # Woken, not resynced (an hour away): the new listener rolls it out in its namespace...
        await new.wait_revision(deployment, "DEPLOYED", revision_id)
        assert new.exists("deployment", deployment["name"]) and new.pods(deployment)
        # ...and the old one removes its objects.
        await eventually(lambda: not old.exists("deployment", deployment["name"]), 60)
        await eventually(lambda: not old.exists("secret", deployment["name"] + "-env"), 30)
        # The same database, with what the agent wrote, reached with the new listener's credentials.
        second_uri = env_database_uri(new, deployment)
        assert second_uri.rsplit("/", 1)[-1] == first_uri.rsplit("/", 1)[-1] == identifier(deployment["id"])
        agent = await asyncpg.connect(second_uri)
        try:
            assert await agent.fetchval("SELECT id FROM threads_kept") == "thread-1"
        finally:
            await agent.close()

        async def ready() -> bool:
            found: dict[str, object] = (await old.admin.get(f"/deployments/{deployment['id']}")).json()
            return found["status"] == "READY"

        await eventually(ready, 30)
        # The old listener runs nothing now: it can be deleted once stopped.
        old.stop()
        assert (await old.admin.delete(f"/listeners/{old.listener_id}")).status_code == 204
    finally:
        new.stop()
        local_cluster.kubectl("delete", "namespace", new.namespace, "--wait=false", check=False)
