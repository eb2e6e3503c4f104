"""Fixtures of the security suite: the real API app on a migrated database of the session's
Postgres and the session's Redis."""

from __future__ import annotations

import pytest
from harness.api_app import MigratedDatabase, migrated_database, running_app
from security_support import api_settings

security_database = migrated_database("lgcp_security_tests")


@pytest.fixture
async def security_dsn(security_database: MigratedDatabase) -> str:
    return await security_database.emptied()


@pytest.fixture
async def security_app(security_dsn: str, redis_url: str):
    async with running_app(api_settings(security_dsn, redis_url)) as application:
        yield application
