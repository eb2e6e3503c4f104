"""Shared database mode end to end: the cluster's Secrets hold working credentials of real databases."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from harness.cluster import LocalCluster
from lgcp_contract.desired_state import DesiredDeployment, Revision
from lgcp_listener.databases.shared.identifiers import redis_user
from lgcp_listener.databases.shared.mode import SharedMode
from lgcp_listener.databases.shared.server import SharedDatabases
from lgcp_listener.kube.client import Kube
from lgcp_listener.render.context import AgentConnections
from listener_support import RecordingControlPlane, eventually, start_reconciler, url_of_a_user_who_cannot_manage_users
from redis.exceptions import NoPermissionError

pytestmark = pytest.mark.cluster


def agent(namespace: str) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": f"db-{uuid.uuid4().hex[:6]}",
            "namespace": namespace,
            "status": "AWAITING_DATABASE",
            "source_config": {"resource_spec": {"cpu": 0.1, "memory_mb": 128}},
            "revision": {"id": str(uuid.uuid4()), "image_uri": "registry.test/agent:1", "status": "QUEUED"},
        }
    )


class CrashOnceBeforeProvisioning(SharedMode):
    """Fails right after the Secret was written, as a killed listener would."""

    crashed = False

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("simulated crash between storing the password and creating the role")
        await super().provision(desired, conn)


@pytest.fixture
async def shared(postgres_dsn: str, redis_url: str) -> AsyncIterator[SharedDatabases]:
    dbs = SharedDatabases(postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), redis_url, 16)
    yield dbs
    await dbs.close()


async def _redis_ping(uri: str) -> bool:
    client = aioredis.Redis.from_url(uri)
    try:
        return await client.ping()
    finally:
        await client.aclose()


def secret_env(cluster: LocalCluster, namespace: str, name: str) -> dict[str, str]:
    data = cluster.get_json("secret", f"{name}-env", "-n", namespace)["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


async def test_each_agent_gets_working_credentials_of_its_own(
    local_cluster: LocalCluster, namespace: str, kube: Kube, shared: SharedDatabases
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, SharedMode(shared))
    try:
        a, b = agent(namespace), agent(namespace)
        running.reconciler.set_desired([a, b])
        await eventually(lambda: all("DEPLOYED" in cp.statuses(cast(Revision, d.revision).id) for d in (a, b)), 60)
        env_a, env_b = secret_env(local_cluster, namespace, a.name), secret_env(local_cluster, namespace, b.name)
        assert env_a["DATABASE_URI"] != env_b["DATABASE_URI"]
        assert urlsplit(env_a["REDIS_URI"]).path != urlsplit(env_b["REDIS_URI"]).path
        for env in (env_a, env_b):
            conn = await asyncpg.connect(env["DATABASE_URI"])
            await conn.close()
        # Each REDIS_URI logs in as the agent's own user, which cannot select the other's number.
        client_a = aioredis.Redis.from_url(env_a["REDIS_URI"])
        try:
            assert urlsplit(env_a["REDIS_URI"]).username == redis_user(a.id)
            await client_a.set("k", "v")
            with pytest.raises(NoPermissionError):
                await client_a.select(int(urlsplit(env_b["REDIS_URI"]).path.lstrip("/")))
            with pytest.raises(NoPermissionError):
                await client_a.flushall()
        finally:
            await client_a.aclose()
        statuses = [s for i, s in cp.deployment_statuses if i == a.id]
        assert statuses == ["AWAITING_DATABASE", "READY"]
    finally:
        await running.stop()


async def test_password_survives_restart_and_a_crash_between_steps(
    local_cluster: LocalCluster, namespace: str, kube: Kube, shared: SharedDatabases
) -> None:
    cp = RecordingControlPlane()
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    crashing = CrashOnceBeforeProvisioning(shared)
    running = await start_reconciler(kube, namespace, cp, crashing, compute_id=compute_id)
    d = agent(namespace)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        assert crashing.crashed
        stored = secret_env(local_cluster, namespace, d.name)["DATABASE_URI"]
        stored_redis = secret_env(local_cluster, namespace, d.name)["REDIS_URI"]
        conn = await asyncpg.connect(stored)  # the role got the password stored before the crash
        await conn.close()
        assert await _redis_ping(stored_redis)  # and so did the Redis user
    finally:
        await running.stop()
    # A new process reads the password back instead of inventing another one.
    running = await start_reconciler(
        kube, namespace, RecordingControlPlane(), SharedMode(shared), compute_id=compute_id
    )
    try:
        writes = kube.writes
        running.reconciler.set_desired([d])
        await running.idle()
        assert secret_env(local_cluster, namespace, d.name)["DATABASE_URI"] == stored
        assert secret_env(local_cluster, namespace, d.name)["REDIS_URI"] == stored_redis
        assert kube.writes == writes
        conn = await asyncpg.connect(stored)
        await conn.close()
        assert await _redis_ping(stored_redis)
    finally:
        await running.stop()


async def test_deletion_drops_the_database_with_retention_delete(
    namespace: str, kube: Kube, shared: SharedDatabases
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, SharedMode(shared))
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        assert d.id in await shared.provisioned()
        running.reconciler.set_desired([d.model_copy(update={"deleting": True})])
        await eventually(lambda: d.id in cp.deleted_ids, 60)
        assert d.id not in await shared.provisioned()
    finally:
        await running.stop()


async def test_an_orphan_loses_its_objects_but_keeps_its_database(
    local_cluster: LocalCluster, namespace: str, kube: Kube, shared: SharedDatabases
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, SharedMode(shared))
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        # The desired state stops naming it without a deletion (a changed key or registration).
        running.reconciler.set_desired([])
        await eventually(
            lambda: local_cluster.kubectl("get", "deployment", d.name, "-n", namespace, check=False).returncode != 0, 60
        )
        # Its env Secret (the database credentials) goes too, although the Deployment that
        # located it is gone by the time the Secret's turn comes: in the pass the Deployment's
        # deletion event queues, which may start after the Deployment is seen gone (so waited
        # for; before the fix it stayed for good).
        await eventually(
            lambda: (
                local_cluster.kubectl("get", "secret", f"{d.name}-env", "-n", namespace, check=False).returncode != 0
            ),
            30,
        )
        await running.idle()
        assert d.id in await shared.provisioned()
    finally:
        await running.stop()


async def test_no_redis_number_left_is_reported_as_deploy_failed(
    namespace: str, kube: Kube, postgres_dsn: str, redis_url: str
) -> None:
    # databases=2: number 1 is the only one agents can get.
    small = SharedDatabases(postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), redis_url, 2)
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, SharedMode(small))
    try:
        first, second = agent(namespace), agent(namespace)
        running.reconciler.set_desired([first])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, first.revision).id), 60)
        running.reconciler.set_desired([first, second])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, second.revision).id), 30)
        message = next(
            m for r, s, m, _ in cp.revision_statuses if r == cast(Revision, second.revision).id and s == "DEPLOY_FAILED"
        )
        assert message is not None
        assert "Redis database numbers" in message and "LGCP_LISTENER_AGENT_REDIS_DATABASES" in message
        # Deleting the first frees its number: the second then deploys.
        running.reconciler.set_desired([first.model_copy(update={"deleting": True}), second])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, second.revision).id), 60)
    finally:
        await running.stop()
        await small.close()


async def test_a_redis_that_refuses_acl_users_fails_the_revision_naming_the_switch(
    namespace: str, kube: Kube, postgres_dsn: str, redis_url: str
) -> None:
    limited = await url_of_a_user_who_cannot_manage_users(redis_url)
    dbs = SharedDatabases(postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), limited, 16)
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, SharedMode(dbs))
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, d.revision).id), 30)
        message = next(
            m for r, s, m, _ in cp.revision_statuses if r == cast(Revision, d.revision).id and s == "DEPLOY_FAILED"
        )
        assert message is not None
        assert "LGCP_LISTENER_AGENT_REDIS_ACL=false" in message
    finally:
        await running.stop()
        await dbs.close()


async def test_an_agent_from_before_redis_users_gets_its_own_user_and_rolls(
    local_cluster: LocalCluster, namespace: str, kube: Kube, postgres_dsn: str, redis_url: str
) -> None:
    """An env Secret written without ACL users (the shared credentials in REDIS_URI) is rewritten
    with the agent's own user on the next listener start, and the pods roll onto it."""
    port = urlsplit(postgres_dsn).port
    assert port is not None
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    d = agent(namespace)
    before = SharedDatabases(postgres_dsn, "127.0.0.1", port, redis_url, 16, redis_acl=False)
    running = await start_reconciler(
        kube, namespace, RecordingControlPlane(), SharedMode(before), compute_id=compute_id
    )
    try:
        running.reconciler.set_desired([d])
        await running.idle()
        old_uri = secret_env(local_cluster, namespace, d.name)["REDIS_URI"]
        assert urlsplit(old_uri).password == urlsplit(redis_url).password  # the shared credentials
        old_hash = local_cluster.get_json("deployment", d.name, "-n", namespace)["spec"]["template"]["metadata"][
            "annotations"
        ]
    finally:
        await running.stop()
        await before.close()
    after = SharedDatabases(postgres_dsn, "127.0.0.1", port, redis_url, 16)
    running = await start_reconciler(kube, namespace, RecordingControlPlane(), SharedMode(after), compute_id=compute_id)
    try:
        running.reconciler.set_desired([d])
        await running.idle()
        new_uri = secret_env(local_cluster, namespace, d.name)["REDIS_URI"]
        assert urlsplit(new_uri).username == redis_user(d.id)
        assert urlsplit(new_uri).path == urlsplit(old_uri).path  # the same number, its data kept
        assert await _redis_ping(new_uri)
        new_hash = local_cluster.get_json("deployment", d.name, "-n", namespace)["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert new_hash != old_hash  # the pods roll onto the new environment
    finally:
        await running.stop()
        await after.drop(d.id)
        await after.close()
