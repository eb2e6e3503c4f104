"""A throwaway PostgreSQL server: initdb into a temporary folder, listening on a free port."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from . import processes

_PG_GLOBS = ("/usr/lib/postgresql/*/bin/{}",)


def _pg_binary(name: str) -> str:
    return processes.find_binary(name, tuple(g.format(name) for g in _PG_GLOBS))


@dataclass
class PostgresServer:
    """A running server; `dsn()` gives a superuser URL for a database on it."""

    host: str
    port: int
    user: str
    password: str
    folder: Path
    proc: subprocess.Popen

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    async def create_database(self, name: str | None = None) -> str:
        """Creates an empty database and returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.dsn(name)

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        processes.stop(self.proc, sig=2)  # SIGINT: PostgreSQL's fast shutdown
        shutil.rmtree(self.folder, ignore_errors=True)


async def empty_every_table(dsn: str) -> None:
    """Deletes every row of the public schema but the migration tool's bookkeeping (yoyo's
    tables), so a database migrated once per session serves each test empty: TRUNCATE costs
    far less than a new database."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(tablename) AS name FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'"
        )
        if tables:
            await conn.execute(f"TRUNCATE {', '.join(t['name'] for t in tables)} CASCADE")
    finally:
        await conn.close()


def start_postgres() -> PostgresServer:
    """initdb + postgres on 127.0.0.1:<free port>, password auth, fsync off (tests only)."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-pg-"))
    data, log = folder / "data", folder / "postgres.log"
    user = processes.unprivileged_user()
    if user:
        shutil.chown(folder, user=user)
    password = uuid.uuid4().hex
    pwfile = folder / "pwfile"
    pwfile.write_text(password)
    if user:
        shutil.chown(pwfile, user=user)
    subprocess.run(
        [
            _pg_binary("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--pwfile",
            str(pwfile),
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        user=user,
    )
    port = processes.free_port()
    proc = processes.start(
        [
            _pg_binary("postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ],
        log,
        user=user,
        env={**os.environ, "LC_ALL": "C"},
    )
    server = PostgresServer("127.0.0.1", port, "postgres", password, folder, proc)

    async def ping() -> bool:
        conn = await asyncpg.connect(server.dsn(), timeout=2)
        await conn.close()
        return True

    processes.wait_until(lambda: asyncio.run(ping()), "PostgreSQL", proc=proc, log=log)
    return server
