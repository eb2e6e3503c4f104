"""PostgreSQL down: the API answers 503 with Retry-After, never 500, and recovers without a
restart once PostgreSQL is back (issue 14). A PostgreSQL server of this test's own is stopped
(fast shutdown) and started again on the same data and port."""

from __future__ import annotations

import asyncio
import time

import pytest
from api_support import ADMIN_KEY, SECRET_KEY, client_for, deployment_body
from cryptography.fernet import Fernet
from harness import processes
from harness.postgres import start_postgres
from lgcp_api.app import create_app
from lgcp_api.core.migrate import apply_migrations
from lgcp_api.core.settings import Settings


@pytest.fixture
async def own_postgres():
    server = await asyncio.to_thread(start_postgres)
    yield server
    server.stop()


def stop(server) -> None:
    processes.stop(server.proc, sig=2)  # fast shutdown: every connection is closed


def start_again(server) -> None:
    args = list(server.proc.args)
    server.proc = processes.start(args, server.folder / "postgres.log", user=processes.unprivileged_user())


async def test_requests_while_postgres_is_down_answer_503_and_the_api_recovers(own_postgres, redis_url):
    dsn = await own_postgres.create_database("lgcp_down")
    await asyncio.to_thread(apply_migrations, dsn)
    settings = Settings(
        database_url=dsn,
        redis_url=redis_url,
        secret_key=SECRET_KEY,
        encryption_keys=Fernet.generate_key().decode(),
        admin_api_key=ADMIN_KEY,
        environment="test",
        db_pool_min_size=1,
        db_pool_max_size=4,
        auth_cache_seconds=0,  # every request reads the database
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app, ADMIN_KEY) as admin:
        listener = (
            await admin.post("/listeners", json={"compute_id": "c1", "compute_config": {"k8s_namespaces": ["agents"]}})
        ).json()
        assert (await admin.get("/deployments")).status_code == 200
        await asyncio.to_thread(stop, own_postgres)
        for method, path, body in (
            ("GET", "/deployments", None),
            ("POST", "/deployments", deployment_body(listener["id"], name="while-down")),
            ("GET", "/listeners", None),
        ):
            response = await admin.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.status_code, response.text)
            assert int(response.headers["Retry-After"]) >= 1
            assert "database" in response.json()["detail"]
        await asyncio.to_thread(start_again, own_postgres)
        restarted = time.monotonic()
        deadline = restarted + 30
        while (answer := await admin.get("/deployments")).status_code != 200:
            assert answer.status_code == 503, answer.text
            assert time.monotonic() < deadline, "the API did not recover"
            await asyncio.sleep(0.2)
        print(f"PostgreSQL restarted: the API answered 200 again {time.monotonic() - restarted:.2f}s later")
        created = await admin.post("/deployments", json=deployment_body(listener["id"], name="after"))
        assert created.status_code == 201, created.text
