"""Where a listener says its agents' databases are (the registration's `data_store`): the same for
listeners on one shared Postgres, different for another server, and never a reason to stall."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from harness.postgres import PostgresServer
from lgcp_listener import app
from lgcp_listener.databases.shared.mode import SharedMode
from lgcp_listener.databases.shared.server import SharedDatabases


def shared_mode(dsn: str, redis_url: str) -> SharedMode:
    return SharedMode(SharedDatabases(dsn, "127.0.0.1", urlsplit(dsn).port or 5432, redis_url, 8))


async def test_listeners_on_one_server_report_one_store_and_another_server_another(
    postgres_dsn: str, postgres_server: PostgresServer, redis_url: str
) -> None:
    other_dsn = await postgres_server.create_database()
    modes = [
        shared_mode(postgres_dsn, redis_url),
        shared_mode(postgres_dsn, redis_url),
        shared_mode(other_dsn, redis_url),
    ]
    try:
        first, second, elsewhere = [await mode.data_store() for mode in modes]
        assert first.startswith("shared:") and first == second
        assert await modes[0].data_store() == first  # stable across calls
        # Another admin database stands for another server here: its own id.
        assert elsewhere.startswith("shared:") and elsewhere != first
    finally:
        for mode in modes:
            await mode.close()
        await postgres_server.drop_database(urlsplit(other_dsn).path.lstrip("/"))


class _Unreachable:
    async def data_store(self) -> str:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class _Failing:
    async def data_store(self) -> str:
        raise OSError("connection refused")


@pytest.mark.parametrize("mode", [_Unreachable(), _Failing()])
async def test_registration_goes_on_without_a_store_when_it_cannot_be_read(
    mode: _Unreachable | _Failing, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app, "DATA_STORE_SECONDS", 0.2)
    assert await app._data_store(mode) is None  # type: ignore[arg-type]
    assert "registering without it" in caplog.text
