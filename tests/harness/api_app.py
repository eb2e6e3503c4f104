"""Fixture factories of the suites that run the API in process on the session's Postgres: a
database migrated once per session and emptied before each test, and the app with its lifespan
(pool, Redis, bootstrap keys) entered.

Each suite names its own database (`migrated_database("lgcp_ui_tests")`): suites that run in
one session must never see each other's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from lgcp_api.app import create_app
from lgcp_api.core.migrate import apply_migrations
from lgcp_api.core.settings import Settings

from harness.postgres import PostgresServer, empty_every_table


@dataclass(frozen=True)
class MigratedDatabase:
    dsn: str

    async def emptied(self) -> str:
        """The database without any row (TRUNCATE costs far less than a new database)."""
        await empty_every_table(self.dsn)
        return self.dsn


def migrated_database(name: str):
    """A session fixture: the database `name` on the session's server, migrated once."""

    @pytest.fixture(scope="session")
    async def database(postgres_server: PostgresServer) -> MigratedDatabase:
        dsn = await postgres_server.create_database(name)
        await asyncio.to_thread(apply_migrations, dsn)
        return MigratedDatabase(dsn)

    return database


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The API app built from `settings`, its lifespan entered for the block."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
