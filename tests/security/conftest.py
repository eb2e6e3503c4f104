"""Fixtures of the security suite: the real API app on a migrated database of the session's
Postgres and the session's Redis."""

from __future__ import annotations

import asyncio

import pytest
from harness.postgres import empty_every_table
from lgcp_api.app import create_app
from lgcp_api.core.migrate import apply_migrations
from security_support import api_settings

DATABASE = "lgcp_security_tests"


@pytest.fixture(scope="session")
async def security_database(postgres_server) -> str:
    dsn = await postgres_server.create_database(DATABASE)
    await asyncio.to_thread(apply_migrations, dsn)
    return dsn


@pytest.fixture
async def security_dsn(security_database: str) -> str:
    await empty_every_table(security_database)
    return security_database


@pytest.fixture
async def security_app(security_dsn: str, redis_url: str):
    application = create_app(api_settings(security_dsn, redis_url))
    async with application.router.lifespan_context(application):
        yield application
