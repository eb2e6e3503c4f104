"""The listener SIGKILLed at points of an agent's provisioning in shared database mode (its role,
database, Redis ACL user, env Secret, Deployment), at random moments of a stream of creates, and
in the middle of deletions, then started again: no orphan role, database or Redis user is left,
no agent's password is lost (its stored URIs still log in) and the cluster holds every
acknowledged write (issue 14). The data-plane PostgreSQL and Redis are the case's own, so that
every `lgcp_*` name on them is this case's."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest
import redis.asyncio as aioredis
from dataplane import DataPlane, env_secret, logs_in
from fault_checks import all_deployed, check_api, check_database, converged
from fault_plane import record
from fault_writes import Writer
from harness.postgres import start_postgres
from harness.redis import start_redis
from lgcp_listener.databases.shared.identifiers import identifier
from listener_support import eventually

pytestmark = pytest.mark.cluster
STAGES = ("role", "database", "redis user", "env Secret", "Deployment")


@pytest.fixture
async def dataplane():
    postgres = await asyncio.to_thread(start_postgres)
    redis = await asyncio.to_thread(start_redis)
    admin_db = await postgres.create_database("dp_admin")
    yield DataPlane(postgres, redis, admin_db)
    redis.stop()
    postgres.stop()


async def reached(dp: DataPlane, stack, name: str, deployment_id: str, stage: str) -> bool:
    if stage in ("role", "database", "redis user"):
        # Only the server that part is on: the other one may be paused on purpose.
        names = {"role": dp.roles, "database": dp.databases, "redis user": dp.redis_users}[stage]
        return identifier(deployment_id) in await names()
    kind = "secret" if stage == "env Secret" else "deployment"
    return await asyncio.to_thread(stack.exists, kind, f"{name}-env" if kind == "secret" else name)


async def snapshot(dp: DataPlane, stack, name: str, deployment_id: str) -> list[str]:
    """The parts of an agent that existed when the listener was killed."""
    parts = await dp.made_for(deployment_id)
    parts["env Secret"] = await asyncio.to_thread(stack.exists, "secret", f"{name}-env")
    parts["Deployment"] = await asyncio.to_thread(stack.exists, "deployment", name)
    return [p for p in STAGES if parts[p]]


async def gone(admin: httpx.AsyncClient, deployment_id: str) -> bool:
    return (await admin.get(f"/deployments/{deployment_id}")).status_code == 404


async def test_listener_killed_while_provisioning_leaves_no_orphan_and_loses_no_password(plane, dataplane) -> None:
    dp = dataplane
    stack = await plane.start(
        LGCP_LISTENER_POSTGRES_ADMIN_URL=dp.admin_db,
        LGCP_LISTENER_AGENT_POSTGRES_PORT=str(dp.postgres.port),
        LGCP_LISTENER_AGENT_REDIS_URL=dp.redis.url(0),
    )
    writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
    rng = random.Random(14)
    kills: list[dict] = []

    async def leader_ready() -> None:
        await eventually(stack.listeners[-1].ready, 60, interval=0.1)

    async def kill_at(point: str, name: str, deployment_id: str) -> None:
        stack.listeners[-1].kill()
        kills.append({"point": point, "existed": await snapshot(dp, stack, name, deployment_id)})
        stack.start()
        await leader_ready()

    try:
        await leader_ready()
        # 1. At chosen points: each held there by stalling what the next step needs.
        deployment_id = await writer.create("before-anything", "registry.test/agent:0")
        await kill_at("as soon as the create was acknowledged", "before-anything", deployment_id)

        # Redis paused: the role and database are made, the ACL user waits.
        agent_redis = aioredis.Redis.from_url(dp.redis.url(0))
        await agent_redis.execute_command("CLIENT", "PAUSE", "8000", "ALL")
        deployment_id = await writer.create("before-the-redis-user", "registry.test/agent:0")
        await eventually(
            lambda: reached(dp, stack, "before-the-redis-user", deployment_id, "database"), 60, interval=0.02
        )
        stack.listeners[-1].kill()
        agent_redis_free = aioredis.Redis.from_url(dp.redis.url(0))
        await agent_redis_free.execute_command("CLIENT", "UNPAUSE")
        await agent_redis_free.aclose()
        await agent_redis.aclose()
        kills.append(
            {"point": "Redis paused", "existed": await snapshot(dp, stack, "before-the-redis-user", deployment_id)}
        )
        stack.start()
        await leader_ready()

        # As soon as the Redis user exists (the env Secret is the next step: a narrow window).
        deployment_id = await writer.create("after-the-redis-user", "registry.test/agent:0")
        await eventually(
            lambda: reached(dp, stack, "after-the-redis-user", deployment_id, "redis user"), 60, interval=0
        )
        await kill_at("as soon as the Redis user exists", "after-the-redis-user", deployment_id)

        deployment_id = await writer.create("after-the-deployment", "registry.test/agent:0")
        await eventually(
            lambda: reached(dp, stack, "after-the-deployment", deployment_id, "Deployment"), 60, interval=0.02
        )
        await kill_at("as soon as the Deployment exists", "after-the-deployment", deployment_id)

        # 2. At random moments of a stream of creates.
        for round_ in range(4):
            names = [f"rand-{round_}-{j}" for j in range(2)]
            ids = [await writer.create(n, "registry.test/agent:0") for n in names]
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            await kill_at(f"random {round_}", names[-1], ids[-1])
        # 3. Killed mid-provisioning, and the deployment deleted while no listener runs.
        deployment_id = await writer.create("deleted-while-down", "registry.test/agent:0")
        await eventually(lambda: reached(dp, stack, "deleted-while-down", deployment_id, "role"), 60, interval=0.01)
        stack.listeners[-1].kill()
        kills.append({"point": "after the role, then deleted while down", "existed": ["role"]})
        await writer.delete("deleted-while-down")
        stack.start()
        restarted = time.monotonic()
        to_cluster = await converged(stack.cluster, stack.namespace, stack.compute_id, writer.ledger)
        deployed = await all_deployed(stack.admin, writer.ledger)
        await eventually(lambda: gone(stack.admin, deployment_id), 120)
        converged_after = time.monotonic() - restarted

        async def parts_are(live: dict[str, str]) -> bool:
            want = {identifier(i) for i in live.values()}
            return (await dp.roles(), await dp.databases(), await dp.redis_users()) == (want, want, want)

        await eventually(lambda: parts_are(writer.ledger.created), 60)
        for name in writer.ledger.created:
            secret = env_secret(stack.cluster, stack.namespace, name)
            assert secret is not None, name
            await logs_in(secret["DATABASE_URI"], secret["REDIS_URI"])

        # 4. Killed in the middle of deletions.
        doomed = sorted(writer.ledger.created)[::2]
        doomed_ids = [writer.ledger.created[n] for n in doomed]
        for name in doomed:
            await writer.delete(name)
        await asyncio.sleep(rng.uniform(0.1, 0.6))
        stack.listeners[-1].kill()
        kills.append({"point": "mid-deletion", "existed": []})
        stack.start()
        for deleted_id in doomed_ids:
            await eventually(lambda deleted_id=deleted_id: gone(stack.admin, deleted_id), 120)
        await eventually(lambda: parts_are(writer.ledger.created), 60)
        await converged(stack.cluster, stack.namespace, stack.compute_id, writer.ledger)
        for name in writer.ledger.created:
            secret = env_secret(stack.cluster, stack.namespace, name)
            assert secret is not None, name
            await logs_in(secret["DATABASE_URI"], secret["REDIS_URI"])
        found_api = await check_api(stack.admin, writer.ledger)
        found_db = await check_database(plane.api_dsn, writer.ledger)
        # The kills landed at different points (a test whose kills all came too late proves little).
        assert len({tuple(k["existed"]) for k in kills}) >= 3, kills
        record(
            "listener-killed",
            kills=len(kills),
            kill_points=kills,
            acknowledged=writer.ledger.acknowledged,
            live_deployments=len(writer.ledger.created),
            deleted=len(writer.ledger.deleted),
            found_in_api=found_api,
            found_in_database=found_db,
            orphans=0,
            passwords_checked=len(writer.ledger.created) * 2,
            cluster_converged_after_last_restart_seconds=round(to_cluster, 2),
            all_deployed_and_deletion_done_after_seconds=round(max(converged_after, to_cluster + deployed), 2),
        )
    finally:
        await writer.aclose()
