"""Fixtures of the listener suite: a restricted namespace on the local cluster and a Kubernetes client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from harness.cluster import LocalCluster
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from lgcp_listener.kube.client import Kube, connect
from listener_support import make_namespace
from processes_support import ApiProcess, Stack


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    name = make_namespace(local_cluster)
    yield name
    local_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
async def kube(local_cluster: LocalCluster) -> AsyncIterator[Kube]:
    client = Kube(await connect(str(local_cluster.kubeconfig)))
    yield client
    await client.api.close()


@pytest.fixture(scope="session")
async def api(postgres_server: PostgresServer, redis_server: RedisServer) -> AsyncIterator[ApiProcess]:
    """The real control-plane API, served by `lgcp-api serve` for the whole session."""
    from processes_support import start_api

    database_url = await postgres_server.create_database(f"lgcp_api_{uuid.uuid4().hex[:8]}")
    # db 0 holds the notification streams; agents get numbers from 1 (see redis_numbers.py).
    process = start_api(database_url, redis_server.url(0))
    yield process
    process.stop()


@pytest.fixture
async def stack(
    api: ApiProcess, local_cluster: LocalCluster, postgres_server: PostgresServer, redis_server: RedisServer
) -> AsyncIterator[Stack]:
    admin = api.admin()
    key = (await admin.post("/api-keys", json={"name": "listener", "role": "listener"})).json()["key"]
    admin_db = await postgres_server.create_database(f"dp_{uuid.uuid4().hex[:8]}")
    namespace = make_namespace(local_cluster)
    s = Stack(api, local_cluster, postgres_server, redis_server, admin, namespace, key, admin_db)
    yield s
    s.stop()
    await admin.aclose()
    local_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
