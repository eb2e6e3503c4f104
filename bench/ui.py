"""Benchmark of the web UI's pages against the API calls they are made of.

Starts a throwaway PostgreSQL and Redis, runs `lgcp-api serve` (as bench/api.py does), creates
N deployments, signs in through the sign-in form, then with C concurrent clients fetches: the
deployments page (20 rows) vs `GET /v2/deployments?limit=20`; a deployment's page vs the two
API reads it needs (deployment, then its revisions); and the live-status JSON the page polls.
Prints requests/s, p50 and p99 per operation and the UI/API ratio (the UI's overhead: its
session check, its in-process API calls and rendering).

    .venv/bin/python bench/ui.py [--deployments 200] [--requests 2000] [--concurrency 20]

Client, server, PostgreSQL and Redis share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/api.py's server start-up, load loop and percentiles (it also puts tests/ on sys.path).
from api import ADMIN_KEY, body, percentile, run_concurrently, start_api
from harness import processes
from harness.postgres import start_postgres
from harness.redis import start_redis
from lgcp_api.core.migrate import apply_migrations


async def sign_in(client: aiohttp.ClientSession, origin: str) -> str:
    """The session cookie, obtained through the sign-in form like a browser."""
    async with client.get(f"{origin}/ui/sign-in") as page:
        html = await page.text()
        cookie = page.cookies["lgcp_ui_session"].value
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    token = found[1]
    async with client.post(
        f"{origin}/ui/sign-in",
        data={"api_key": ADMIN_KEY, "csrf_token": token},
        headers={"Origin": origin, "Cookie": f"lgcp_ui_session={cookie}"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303, await answer.text()
        return answer.cookies["lgcp_ui_session"].value


async def bench(origin: str, n: int, requests: int, concurrency: int) -> dict[str, Any]:
    api = f"{origin}/api-host/v2"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:
        headers = {"X-Api-Key": ADMIN_KEY}
        async with client.post(
            f"{api}/listeners",
            headers=headers,
            json={
                "compute_id": "bench",
                "compute_config": {"k8s_namespaces": ["agents"]},
            },
        ) as response:
            listener_id = (await response.json())["id"]
        ids: list[str] = []

        async def create(i: int) -> None:
            async with client.post(
                f"{api}/deployments", headers=headers, json=body(listener_id, f"agent-{i}")
            ) as response:
                assert response.status == 201, await response.text()
                ids.append((await response.json())["id"])

        await run_concurrently(n, concurrency, create)
        session = {"Cookie": f"lgcp_ui_session={await sign_in(client, origin)}"}

        async def fetch(url: str, with_headers: dict[str, str]) -> None:
            async with client.get(url, headers=with_headers, allow_redirects=False) as response:
                assert response.status == 200, (url, response.status)
                await response.read()

        async def api_detail(i: int) -> None:
            deployment_id = random.choice(ids)
            await fetch(f"{api}/deployments/{deployment_id}", headers)
            await fetch(f"{api}/deployments/{deployment_id}/revisions?limit=50", headers)

        operations = {
            "ui list": lambda i: fetch(f"{origin}/ui/deployments", session),
            "api list": lambda i: fetch(f"{api}/deployments?limit=20", headers),
            "ui detail": lambda i: fetch(f"{origin}/ui/deployments/{random.choice(ids)}", session),
            "api detail": api_detail,
            "ui status": lambda i: fetch(f"{origin}/ui/deployments/{random.choice(ids)}/status.json", session),
        }
        await run_concurrently(min(requests, 200), concurrency, operations["ui detail"])  # warm-up
        return {name: await run_concurrently(requests, concurrency, one) for name, one in operations.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    # The benchmark talks plain http: the session cookie must not be Secure-only.
    os.environ["LGCP_UI_COOKIE_SECURE"] = "false"
    postgres, redis = start_postgres(), start_redis()
    server = None
    try:
        dsn = asyncio.run(postgres.create_database("bench_ui"))
        apply_migrations(dsn)
        port = processes.free_port()
        server = start_api(dsn, redis.url(), port, 20, Path(tempfile.mkdtemp(prefix="lgcp-bench-ui-")) / "api.log")
        results = asyncio.run(bench(f"http://127.0.0.1:{port}", args.deployments, args.requests, args.concurrency))
    finally:
        if server is not None:
            processes.stop(server)
        redis.stop()
        postgres.stop()

    print(
        f"deployments={args.deployments} requests={args.requests} concurrency={args.concurrency} cpus={os.cpu_count()}"
    )
    print(f"{'op':<11}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    rates = {}
    for op, (seconds, latencies) in results.items():
        rates[op] = len(latencies) / seconds
        print(
            f"{op:<11}{rates[op]:>8.0f}{statistics.median(latencies) * 1000:>9.1f}"
            f"{percentile(latencies, 0.99) * 1000:>9.1f}"
        )
    print(
        f"ui/api: list {rates['ui list'] / rates['api list']:.2f}, "
        f"detail {rates['ui detail'] / rates['api detail']:.2f}"
    )


if __name__ == "__main__":
    main()
