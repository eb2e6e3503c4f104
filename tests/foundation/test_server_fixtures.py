"""The PostgreSQL and Redis fixtures are real servers, and nothing they start outlives them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import asyncpg
import psutil
import redis.asyncio as aioredis
from harness.cluster import machine_snapshot
from harness.postgres import start_postgres
from harness.redis import start_redis

TESTS = Path(__file__).resolve().parents[1]


async def test_postgres_fixture_answers_queries(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("CREATE TABLE t (n int)")
        await conn.execute("INSERT INTO t SELECT generate_series(1, 10)")
        assert await conn.fetchval("SELECT sum(n) FROM t") == 55
    finally:
        await conn.close()


async def test_each_test_gets_an_empty_database(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables == 0
    finally:
        await conn.close()


async def test_redis_fixture_answers_commands(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.xadd("s", {"k": "v"})
        assert await client.xlen("s") == 1
    finally:
        await client.aclose()


def _descendants_named(pid: int, name: str) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if name in p.name()]
    except psutil.NoSuchProcess:
        return []


def test_stopping_the_servers_leaves_no_process_or_folder() -> None:
    pg, rd = start_postgres(), start_redis()
    pids = [pg.proc.pid, *[p.pid for p in psutil.Process(pg.proc.pid).children(recursive=True)], rd.proc.pid]
    folders = [pg.folder, rd.folder]
    pg.stop()
    rd.stop()
    time.sleep(0.5)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not any(f.exists() for f in folders)


def test_servers_die_when_the_test_process_is_killed() -> None:
    # A child Python starts both servers, reports their pids, and is then SIGKILLed: no
    # finalizer runs, so only the parent-death signal can stop them.
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(TESTS)!r})
        from harness.postgres import start_postgres
        from harness.redis import start_redis
        pg, rd = start_postgres(), start_redis()
        print(pg.proc.pid, rd.proc.pid, pg.folder, rd.folder, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        words = child.stdout.readline().split()
        pids, folders = [int(p) for p in words[:2]], [Path(f) for f in words[2:]]
        assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids
    ):
        time.sleep(0.2)
    survivors = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    for folder in folders:  # the killed process could not clean up after itself
        shutil.rmtree(folder, ignore_errors=True)
    assert survivors == []


def test_the_machine_snapshot_is_taken_before_nft_and_ipset_are_installed(tmp_path, monkeypatch) -> None:
    # A fresh machine gets nft and ipset with the real node's first `up`, which comes after the
    # snapshot of the machine as found: the snapshot must not fail for want of them (CI did).
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("ip",):
        (tools / name).symlink_to(shutil.which(name) or f"/usr/sbin/{name}")
    monkeypatch.setenv("PATH", str(tools))
    snapshot = machine_snapshot(tmp_path / "state")
    assert snapshot["nft tables"] == [] and snapshot["ipsets"] == []
    assert snapshot["links"], "ip still ran"
