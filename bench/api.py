"""Benchmark of the control-plane API against the raw asyncpg rate of the same statements.

Starts a throwaway PostgreSQL and Redis (the test harness's), migrates a database, runs
`lgcp-api serve` as its own process, then with C concurrent clients: creates N deployments, gets
them, and lists them. The same statements are then run straight through asyncpg with the same
concurrency. Prints requests/s, p50 and p99 per operation and the API/raw ratio.

    .venv/bin/python bench/api.py [--deployments 2000] [--concurrency 100] [--gets 5000]

Client, server, PostgreSQL and Redis share this machine's cores: the figures are for the whole
system on one box, not for the API alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from harness import processes  # noqa: E402  (the test harness owns server start-up)
from harness.postgres import start_postgres  # noqa: E402
from harness.redis import start_redis  # noqa: E402
from lgcp_api.core.migrate import apply_migrations  # noqa: E402

ADMIN_KEY = "lgcp_bench_" + "k" * 40
SECRET_KEY = "b" * 48


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_concurrently(
    count: int, concurrency: int, one: Callable[[int], Awaitable[object]]
) -> tuple[float, list[float]]:
    """Runs `one(i)` for i in range(count) with `concurrency` workers; (seconds, latencies)."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


def body(listener_id: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "source": "external_docker",
        "source_config": {"listener_id": listener_id, "listener_config": {"k8s_namespace": "agents"}},
        "source_revision_config": {"image_uri": "registry.example.com/team/agent:1.0.0"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-bench"}],
    }


async def bench_api(url: str, n: int, gets: int, lists: int, concurrency: int) -> dict[str, Any]:
    # aiohttp rather than httpx: the client shares the cores with the server, so a cheaper
    # client leaves more of them to what is measured.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url + "/", headers={"X-Api-Key": ADMIN_KEY}, connector=connector) as client:
        async with client.post(
            "listeners", json={"compute_id": "bench", "compute_config": {"k8s_namespaces": ["agents"]}}
        ) as response:
            listener = await response.json()
        ids: list[str] = []

        async def create(i: int) -> None:
            async with client.post("deployments", json=body(listener["id"], f"api-{i}")) as response:
                assert response.status == 201, await response.text()
                ids.append((await response.json())["id"])

        async def get(i: int) -> None:
            async with client.get(f"deployments/{random.choice(ids)}") as response:
                assert response.status == 200, await response.text()
                await response.read()

        async def list_(i: int) -> None:
            async with client.get("deployments", params={"limit": 20, "offset": (i * 20) % n}) as response:
                assert response.status == 200, await response.text()
                await response.read()

        # Warm-up, not measured: opens the client's connections and the server's pool.
        await run_concurrently(concurrency * 2, concurrency, list_)
        results = {}
        for name, op, count in (("create", create, n), ("get", get, gets), ("list", list_, lists)):
            results[name] = await run_concurrently(count, concurrency, op)
        return results


async def bench_raw(dsn: str, n: int, gets: int, lists: int, concurrency: int, pool_size: int) -> dict[str, Any]:
    """The statements one API request runs, straight on asyncpg. The key lookup is left out, as
    the API serves it from its cache on all but the first request of a key."""
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    async with pool.acquire() as conn:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE name = 'default'")
        listener_id = await conn.fetchval("SELECT id FROM listeners WHERE compute_id = 'bench'")
    source_config = json.dumps(
        {
            "listener_id": str(listener_id),
            "listener_config": {"k8s_namespace": "agents"},
            "custom_url": None,
            "resource_spec": {"min_scale": 1, "max_scale": 1},
        }
    )
    revision_config = json.dumps({"image_uri": "registry.example.com/team/agent:1.0.0"})
    ids: list[uuid.UUID] = []
    box = Fernet(Fernet.generate_key())

    async def create(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchval(
                "SELECT compute_config -> 'k8s_namespaces' FROM listeners WHERE id = $1 AND tenant_id = $2",
                listener_id,
                tenant_id,
            )
            did, rid = uuid.uuid4(), uuid.uuid4()
            await conn.fetchrow(
                "INSERT INTO deployments (id, tenant_id, name, source, listener_id, source_config, "
                "source_revision_config, secret_names, secret_references, status, latest_revision_id, "
                "image_version) VALUES ($1, $2, $3, 'external_docker', $4, $5::jsonb, $6::jsonb, $7, '[]', "
                "'AWAITING_DATABASE', $8, '1.0.0') RETURNING *",
                did,
                tenant_id,
                f"raw-{i}",
                listener_id,
                source_config,
                revision_config,
                ["OPENAI_API_KEY"],
                rid,
            )
            await conn.execute(
                "INSERT INTO revisions (id, deployment_id, status, source_revision_config, resource_spec, "
                "secret_names, secrets_ciphertext, secret_references) "
                "VALUES ($1, $2, 'QUEUED', $3::jsonb, '{}', $4, $5, '[]')",
                rid,
                did,
                revision_config,
                ["OPENAI_API_KEY"],
                box.encrypt(b'[{"name":"OPENAI_API_KEY","value":"sk-bench"}]'),
            )
            await conn.execute(
                "INSERT INTO audit_log (tenant_id, api_key_id, action, object_type, object_id) "
                "VALUES ($1, NULL, 'create', 'deployment', $2)",
                tenant_id,
                did,
            )
            ids.append(did)

    async def get(i: int) -> None:
        async with pool.acquire() as conn:
            await conn.fetchrow(
                "SELECT * FROM deployments d WHERE d.id = $1 AND d.tenant_id = $2", random.choice(ids), tenant_id
            )

    async def list_(i: int) -> None:
        async with pool.acquire() as conn:
            await conn.fetch(
                "SELECT * FROM deployments d WHERE d.tenant_id = $1 "
                "ORDER BY d.created_at DESC, d.id DESC LIMIT 20 OFFSET $2",
                tenant_id,
                (i * 20) % n,
            )

    results = {}
    try:
        await run_concurrently(concurrency * 2, concurrency, list_)
        for name, op, count in (("create", create, n), ("get", get, gets), ("list", list_, lists)):
            results[name] = await run_concurrently(count, concurrency, op)
    finally:
        await pool.close()
    return results


def start_api(dsn: str, redis_url: str, port: int, pool_size: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LGCP_DATABASE_URL": dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": SECRET_KEY,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": ADMIN_KEY,
        "LGCP_LOG_LEVEL": "WARNING",
        "LGCP_DB_POOL_MIN_SIZE": str(pool_size),
        "LGCP_DB_POOL_MAX_SIZE": str(pool_size),
    }
    proc = processes.start(
        [str(REPO / ".venv/bin/lgcp-api"), "serve", "--host", "127.0.0.1", "--port", str(port)], log, env=env
    )
    processes.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/ok").status_code == 200, "lgcp-api", proc=proc, log=log
    )
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=2000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--lists", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args()

    postgres, redis = start_postgres(), start_redis()
    api = None
    folder = Path(tempfile.mkdtemp(prefix="lgcp-bench-"))
    try:
        dsn = asyncio.run(postgres.create_database("bench"))
        apply_migrations(dsn)
        port = processes.free_port()
        api = start_api(dsn, redis.url(), port, args.pool_size, folder / "api.log")
        url = f"http://127.0.0.1:{port}/api-host/v2"
        api_results = asyncio.run(bench_api(url, args.deployments, args.gets, args.lists, args.concurrency))
        raw_results = asyncio.run(
            bench_raw(dsn, args.deployments, args.gets, args.lists, args.concurrency, args.pool_size)
        )
    finally:
        if api is not None:
            processes.stop(api)
        redis.stop()
        postgres.stop()

    print(
        f"deployments={args.deployments} gets={args.gets} lists={args.lists} "
        f"concurrency={args.concurrency} pool={args.pool_size} cpus={os.cpu_count()}"
    )
    print(
        f"{'op':<7}{'api req/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'raw req/s':>11}{'raw p50':>9}{'raw p99':>9}{'api/raw':>9}"
    )
    for op in ("create", "get", "list"):
        (seconds, lat), (raw_seconds, raw_lat) = api_results[op], raw_results[op]
        rate, raw_rate = len(lat) / seconds, len(raw_lat) / raw_seconds
        print(
            f"{op:<7}{rate:>11.0f}{statistics.median(lat) * 1000:>9.1f}{percentile(lat, 0.99) * 1000:>9.1f}"
            f"{raw_rate:>11.0f}{statistics.median(raw_lat) * 1000:>9.1f}{percentile(raw_lat, 0.99) * 1000:>9.1f}"
            f"{rate / raw_rate:>9.2f}"
        )


if __name__ == "__main__":
    main()
