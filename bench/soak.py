#!/usr/bin/env python3
"""Soak: create/update/rollback/delete churn at a fixed rate over a few hundred deployments.

The real API and listener (shared database mode) as local processes, a throwaway PostgreSQL and
Redis, and the fault suite's own kwok cluster (started when it is not running, stopped after).
Writes go through tests/faults' retrying client (Idempotency-Keys, If-Match), so each one is
acknowledged exactly once. Prints writes acknowledged vs found (the API, its database and the
cluster), the API's and listener's RSS at the start and the end of the churn, errors by kind,
and the write latency; beside each, a floor measured in the same run: the RSS of the same
processes idle before the first deployment, and the latency of GET /ok (the API's round trip
without the database).

    .venv/bin/python bench/soak.py                 # 3 minutes, 200 deployments, 2 writes/s
    .venv/bin/python bench/soak.py --minutes 60    # the issue's hour
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "listener"), str(REPO / "tests" / "faults")]

import httpx  # noqa: E402
import psutil  # noqa: E402
from fault_checks import check_api, check_database, cluster_images, converged  # noqa: E402
from fault_plane import FAULTS  # noqa: E402
from fault_writes import Writer  # noqa: E402
from harness.postgres import start_postgres  # noqa: E402
from harness.redis import start_redis  # noqa: E402
from listener_support import eventually, make_namespace  # noqa: E402
from processes_support import start_api, start_listener  # noqa: E402

OPERATIONS = ("update", "rollback", "delete")  # a delete is followed by a create: N stays N


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def floor_latency(url: str, samples: int = 200) -> list[float]:
    """GET /ok, the API's cheapest answer: what any write costs at the least on this machine."""
    took = []
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(samples):
            started = time.perf_counter()
            (await client.get(f"{url}/ok")).raise_for_status()
            took.append(time.perf_counter() - started)
    return took


class Churn:
    """The timed writes on the population of deployments."""

    def __init__(self, writer: Writer, rng: random.Random) -> None:
        self.writer, self.rng = writer, rng
        self.serial = 0
        self.latency: list[float] = []
        self.done: Counter[str] = Counter()

    async def timed(self, kind: str, write) -> None:
        started = time.perf_counter()
        await write
        self.latency.append(time.perf_counter() - started)
        self.done[kind] += 1

    async def create(self) -> None:
        self.serial += 1
        await self.timed("create", self.writer.create(f"soak-{self.serial}", "registry.test/agent:0"))


async def soak(args: argparse.Namespace) -> dict:
    running = FAULTS.running()
    cluster = FAULTS.up()
    postgres = await asyncio.to_thread(start_postgres)
    # One Redis number per agent (shared mode): room for every deployment and its replacements.
    numbers = 2 * args.deployments + 64
    redis = await asyncio.to_thread(start_redis, None, None, numbers)
    api = listener = None
    try:
        api_dsn = await postgres.create_database("lgcp_api")
        api = await asyncio.to_thread(start_api, api_dsn, redis.url(0))
        admin = api.admin()
        key = (await admin.post("/api-keys", json={"name": "listener", "role": "listener"})).json()["key"]
        namespace = make_namespace(cluster, "lgcp-soak")
        compute_id = f"soak-{uuid.uuid4().hex[:8]}"
        listener = await asyncio.to_thread(
            start_listener,
            {
                "LGCP_LISTENER_API_URL": api.url,
                "LGCP_LISTENER_API_KEY": key,
                "LGCP_LISTENER_COMPUTE_ID": compute_id,
                "LGCP_LISTENER_NAMESPACES": namespace,
                "LGCP_LISTENER_REDIS_URL": redis.url(0),
                "LGCP_LISTENER_POSTGRES_ADMIN_URL": await postgres.create_database("dp_admin"),
                "LGCP_LISTENER_AGENT_POSTGRES_HOST": "127.0.0.1",
                "LGCP_LISTENER_AGENT_POSTGRES_PORT": str(postgres.port),
                "LGCP_LISTENER_AGENT_REDIS_URL": redis.url(0),
                "LGCP_LISTENER_AGENT_REDIS_DATABASES": str(numbers),
                "LGCP_LISTENER_KUBECONFIG": str(cluster.kubeconfig),
                "LGCP_LISTENER_LEASE_NAME": f"lgcp-listener-{compute_id}",
                "LGCP_LISTENER_LANGSMITH_HOSTNAME": "langsmith.test",
                "LGCP_LISTENER_POD_NAME": "soak-0",
            },
        )
        await eventually(listener.ready, 60)
        listener_id = next(
            i["id"] for i in (await admin.get("/listeners")).json()["resources"] if i["compute_id"] == compute_id
        )
        idle = {"api": rss_mib(api.proc.pid), "listener": rss_mib(listener.proc.pid)}
        floor = await floor_latency(api.url.removesuffix("/api-host"))
        writer = Writer(api.url, api.admin_key, listener_id, namespace, deadline=120)
        churn = Churn(writer, random.Random(args.seed))
        gate = asyncio.Semaphore(4)

        async def create_one() -> None:
            async with gate:
                await churn.create()

        setup_started = time.monotonic()
        await asyncio.gather(*(create_one() for _ in range(args.deployments)))
        setup = time.monotonic() - setup_started
        await converged(cluster, namespace, compute_id, writer.ledger, within=600)
        start_rss = {"api": rss_mib(api.proc.pid), "listener": rss_mib(listener.proc.pid)}
        churn.latency.clear()
        churn.done.clear()
        answers_before = Counter(writer.ledger.answers)
        refusals_before, races_before = writer.ledger.refusals(), writer.ledger.status_races

        # The churn: one write every 1/rate seconds, each in its own task so a slow one never
        # lowers the rate; a deployment is written by one task at a time.
        busy: set[str] = set()
        tasks: list[asyncio.Task] = []
        deadline = time.monotonic() + args.minutes * 60
        tick = time.monotonic()
        while time.monotonic() < deadline:
            tick += 1 / args.rate
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            tasks = [t for t in tasks if not t.done()]
            if len(busy) >= len(writer.ledger.created) // 2:
                continue
            tasks.append(asyncio.create_task(guarded(churn, busy)))
        await asyncio.gather(*tasks)
        end_rss = {"api": rss_mib(api.proc.pid), "listener": rss_mib(listener.proc.pid)}
        to_converge = await converged(cluster, namespace, compute_id, writer.ledger, within=600)
        for deleted_id in writer.ledger.deleted.values():
            await eventually(
                lambda deleted_id=deleted_id: gone(admin, deleted_id),
                300,
                interval=0.5,
            )
        ledger = writer.ledger
        found_api = await check_api(admin, ledger)
        found_db = await check_database(api_dsn, ledger)
        in_cluster = cluster_images(cluster, namespace, compute_id)
        churn_answers = ledger.answers - answers_before
        errors = ledger.refusals() - refusals_before
        await writer.aclose()
        await admin.aclose()
        return {
            "minutes": args.minutes,
            "deployments": args.deployments,
            "rate_per_second": args.rate,
            "setup_seconds": round(setup, 1),
            "writes_during_churn": dict(churn.done),
            "acknowledged_total": ledger.acknowledged,
            # What must still be visible: every revision of the deployments alive at the end.
            "revisions_acknowledged_live": sum(1 + ledger.revisions[i] for i in ledger.created.values()),
            "revisions_found_in_api": found_api,
            "revisions_found_in_database": found_db,
            "deployments_acknowledged_live": len(ledger.created),
            "deployments_found_in_cluster": len(in_cluster),
            "deletes_acknowledged_and_done": len(ledger.deleted),
            "errors_by_kind": dict(errors),
            # 412s of a PATCH whose read raced a listener's status report, read again and applied.
            "status_races_during_churn": ledger.status_races - races_before,
            "answers_during_churn": dict(churn_answers),
            "write_latency_ms": {
                "p50": round(pct(churn.latency, 0.5) * 1000, 1),
                "p99": round(pct(churn.latency, 0.99) * 1000, 1),
            },
            "floor_get_ok_latency_ms": {
                "p50": round(pct(floor, 0.5) * 1000, 1),
                "p99": round(pct(floor, 0.99) * 1000, 1),
            },
            "rss_mib_idle_floor": rounded(idle),
            "rss_mib_start": rounded(start_rss),
            "rss_mib_end": rounded(end_rss),
            "converged_after_churn_seconds": round(to_converge, 1),
        }
    finally:
        if listener is not None:
            listener.stop()
        if api is not None:
            api.stop()
        redis.stop()
        postgres.stop()
        if not running:
            FAULTS.script("down")


async def guarded(churn: Churn, busy: set[str]) -> None:
    """One write, never on a deployment another write is still busy with."""
    free = sorted(set(churn.writer.ledger.created) - busy)
    if not free:
        return
    name = churn.rng.choice(free)
    busy.add(name)
    try:
        ledger = churn.writer.ledger
        kind = churn.rng.choice(OPERATIONS)
        deployment_id = ledger.created[name]
        if kind == "update":
            await churn.timed(kind, churn.writer.patch(deployment_id, f"registry.test/agent:{churn.rng.randint(1, 9)}"))
        elif kind == "rollback":
            revisions = (await churn.writer.client.get(f"/deployments/{deployment_id}/revisions")).json()["resources"]
            target = revisions[1] if len(revisions) > 1 else None
            if target is None:
                await churn.timed("update", churn.writer.patch(deployment_id, "registry.test/agent:1"))
            else:
                image = target["source_revision_config"]["image_uri"]
                await churn.timed(kind, churn.writer.rollback(deployment_id, target["id"], image))
        else:
            await churn.timed(kind, churn.writer.delete(name))
            await churn.create()
    finally:
        busy.discard(name)


async def gone(admin: httpx.AsyncClient, deployment_id: str) -> bool:
    return (await admin.get(f"/deployments/{deployment_id}")).status_code == 404


def rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3, help="length of the churn (default 3)")
    parser.add_argument("--deployments", type=int, default=200, help="deployments kept alive (default 200)")
    parser.add_argument("--rate", type=float, default=2, help="writes per second (default 2)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if args.minutes <= 0 or args.deployments < 2 or args.rate <= 0:
        parser.error("--minutes and --rate must be positive and --deployments at least 2")
    print(json.dumps(asyncio.run(soak(args)), indent=2))


if __name__ == "__main__":
    main()
