"""Fixtures of the API suite: a database migrated once and emptied before each test, the app
running against it (real Postgres and Redis), and clients with keys of each role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_support import ADMIN_KEY, SECRET_KEY, client_for, deployment_body
from cryptography.fernet import Fernet
from harness.api_app import MigratedDatabase, migrated_database, running_app
from lgcp_api.core.settings import Settings

# One database migrated once per session; tests empty it instead of making their own.
api_database = migrated_database("lgcp_api_tests")


@pytest.fixture
async def api_dsn(api_database: MigratedDatabase) -> str:
    return await api_database.emptied()


@pytest.fixture
def encryption_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(api_dsn: str, redis_url: str, encryption_key: str) -> Settings:
    return Settings(
        database_url=api_dsn,
        redis_url=redis_url,
        secret_key=SECRET_KEY,
        encryption_keys=encryption_key,
        admin_api_key=ADMIN_KEY,
        environment="test",
        db_pool_min_size=1,
        db_pool_max_size=10,
        # Generous, so a loaded CI machine cannot turn a slow XADD into a missed notification.
        redis_timeout_seconds=5,
    )


@pytest.fixture
async def app(settings: Settings):
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def admin(app) -> AsyncIterator[httpx.AsyncClient]:
    """The bootstrap platform admin, acting in the `default` tenant."""
    async with client_for(app, ADMIN_KEY) as client:
        yield client


@pytest.fixture
async def role_client(app, admin):
    """Makes a client with a new key of a role in the default tenant."""
    opened: list[httpx.AsyncClient] = []

    async def make(role: str) -> httpx.AsyncClient:
        response = await admin.post("/api-keys", json={"name": f"{role} key", "role": role})
        assert response.status_code == 201, response.text
        client = client_for(app, response.json()["key"])
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def listener(admin) -> dict:
    response = await admin.post(
        "/listeners", json={"compute_id": "cluster-1", "compute_config": {"k8s_namespaces": ["agents", "team-b"]}}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def deployment(admin, listener) -> dict:
    response = await admin.post("/deployments", json=deployment_body(listener["id"]))
    assert response.status_code == 201, response.text
    return response.json()
