"""What the API answers for the errors asyncpg raised in the PostgreSQL fault case: a
connection broken by the server's shutdown must give 503 + Retry-After, not a 500. Found by
test_postgres_down.py (a create answered 500 once in three runs: "cannot switch to state 15;
another operation (2) is in progress" from the request's BEGIN, on a connection whose previous
operation the shutdown had cut); here raised on purpose, so that it fails every time it is wrong."""

from __future__ import annotations

import asyncpg
import httpx
from cryptography.fernet import Fernet
from lgcp_api.app import create_app
from lgcp_api.core.settings import Settings

BROKEN = "cannot switch to state 15; another operation (2) is in progress"


def app_raising(exc: Exception):
    settings = Settings(
        database_url="postgresql://u:p@127.0.0.1:1/none",  # never reached: the route raises first
        redis_url="redis://127.0.0.1:1/0",
        secret_key="s" * 48,
        encryption_keys=Fernet.generate_key().decode(),
        admin_api_key="lgcp_test_admin_" + "a" * 40,
        environment="test",
    )
    app = create_app(settings)

    async def broken() -> None:
        raise exc

    app.add_api_route("/broken", broken)
    return app


async def answer(exc: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get("/broken")


async def test_a_connection_left_mid_operation_by_a_shutdown_answers_503() -> None:
    response = await answer(asyncpg.InternalClientError(BROKEN))
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"


async def test_other_internal_client_errors_stay_500() -> None:
    # A client bug that is not a cut connection must not be hidden as "try again".
    response = await answer(asyncpg.InternalClientError("unexpected message type"))
    assert response.status_code == 500
