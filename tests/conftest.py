"""Fixtures shared by every suite: real PostgreSQL, Redis and the local Kubernetes clusters.

Servers are session-scoped and stopped at the end of the run, also when tests fail or the run is
interrupted (and, should pytest itself be killed, the kernel stops them: see harness.processes).
"""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from harness.cluster import REAL_NODE_STATE, LocalCluster, RealCluster, ensure_cluster, is_running, machine_snapshot
from harness.postgres import PostgresServer, start_postgres
from harness.redis import RedisServer, start_redis


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
async def postgres_dsn(postgres_server: PostgresServer) -> str:
    """A fresh empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = await postgres_server.create_database(name)
    yield dsn
    await postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied before the test."""
    client = aioredis.Redis.from_url(redis_server.url())
    await client.flushall()
    await client.aclose()
    return redis_server.url()


@pytest.fixture(scope="session")
def local_cluster() -> LocalCluster:
    """The local kwok cluster: reuses a running one, else starts one and stops it afterwards."""
    cluster, started_here = ensure_cluster("kwok")
    yield cluster
    if started_here:
        cluster.down()


@pytest.fixture(scope="session")
def real_cluster() -> RealCluster:
    """The real local node (containers, CoreDNS, Traefik on 127.0.0.1): reuses a running one, else
    starts one and stops it afterwards. Needs root, like scripts/cluster.sh up."""
    # The machine as found, before this session's node changes it (for the test of `down`).
    baseline = None if is_running("real") else machine_snapshot(REAL_NODE_STATE)
    cluster, started_here = ensure_cluster("real")
    cluster.started_here, cluster.baseline = started_here, baseline
    yield cluster
    if started_here:
        cluster.down()
