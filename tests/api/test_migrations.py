"""`lgcp-api migrate`: from empty, re-run, and two at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
from lgcp_api.core.migrate import MIGRATIONS, apply_migrations

EXPECTED_TABLES = {
    "tenants",
    "api_keys",
    "listeners",
    "deployments",
    "revisions",
    "revision_events",
    "idempotency_keys",
    "audit_log",
    "deployment_manifests",
}


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_migrate_from_empty_then_rerun_is_a_no_op(postgres_dsn):
    assert await tables(postgres_dsn) == set()
    applied = await asyncio.to_thread(apply_migrations, postgres_dsn)
    assert applied == sorted(p.stem for p in MIGRATIONS.glob("*.sql"))
    assert await tables(postgres_dsn) >= EXPECTED_TABLES
    assert await asyncio.to_thread(apply_migrations, postgres_dsn) == []


async def test_two_concurrent_migrations_apply_once(postgres_dsn):
    first, second = await asyncio.gather(
        asyncio.to_thread(apply_migrations, postgres_dsn),
        asyncio.to_thread(apply_migrations, postgres_dsn),
    )
    assert sorted([first, second], key=len) == [[], sorted(p.stem for p in MIGRATIONS.glob("*.sql"))]
    assert await tables(postgres_dsn) >= EXPECTED_TABLES


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LGCP_")}
    return subprocess.run(
        [sys.executable, "-m", "lgcp_api", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_migrate_runs_against_the_configured_database(postgres_dsn):
    result = await asyncio.to_thread(
        _cli, ["migrate"], {"LGCP_DATABASE_URL": postgres_dsn, "LGCP_ENVIRONMENT": "local"}
    )
    assert result.returncode == 0, result.stderr
    assert await tables(postgres_dsn) >= EXPECTED_TABLES
    assert '"message": "migrations done"' in result.stderr


def test_cli_refuses_missing_secrets_outside_local_mode_naming_the_variable():
    result = _cli(["migrate"], {"LGCP_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db"})
    assert result.returncode == 2
    assert "LGCP_SECRET_KEY is required" in result.stderr


def test_cli_names_a_weak_secret_without_printing_it():
    weak = "short-but-secret-value"
    result = _cli(
        ["serve"],
        {
            "LGCP_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db",
            "LGCP_SECRET_KEY": weak,
            "LGCP_ENCRYPTION_KEYS": "x",
        },
    )
    assert result.returncode == 2
    assert "LGCP_SECRET_KEY is a default or shorter than 32" in result.stderr
    assert weak not in result.stderr
