#!/usr/bin/env python3
"""Metrics benchmark: the listener's cost of gathering at N agents, and the API's cost of
storing the series, each beside a floor measured in the same run.

N deployments are real rows of the real API (`lgcp-api serve`, the harness' throwaway Postgres
and Redis); their Deployments and pods run on the local kwok cluster, carrying the labels the
listener gives them, and the listener's own informers (reconcile.ClusterCache) watch them.
kwok pods serve nothing, so each agent's `/metrics` page is served by a small local HTTP
server (another process) with a langgraph-api page of 40 label sets: a real scrape and parse
per pod, over loopback instead of the pod network. kwok has no metrics API: the CPU and
memory read is its one 404 per namespace and pass.

Per pass (the listener makes one every 20 s): the gatherer's CPU (this process: informers'
reads, scrapes, parsing, rates, gauges, shipping) and wall time, and RSS; beside it the floor,
the same HTTP traffic sent bare (N GETs of the same page, N POSTs of the same bodies, same
concurrency). The API's side of the same reports: the API process's and PostgreSQL's CPU;
beside it the floor, the same rows upserted by one asyncpg connection, no HTTP.

    .venv/bin/python bench/metrics_gathering.py --n 50 --passes 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "listener")]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
from harness.cluster import ensure_cluster  # noqa: E402
from harness.postgres import start_postgres  # noqa: E402
from harness.processes import free_port  # noqa: E402
from harness.redis import start_redis  # noqa: E402
from lgcp_contract import labels as L  # noqa: E402
from lgcp_listener.control_plane.client import ControlPlane  # noqa: E402
from lgcp_listener.kube.client import Kube, connect  # noqa: E402
from lgcp_listener.metrics.gatherer import Gatherer, ship_once  # noqa: E402
from lgcp_listener.metrics.sources import SCRAPES_AT_ONCE, AgentScraper, PodUsage  # noqa: E402
from lgcp_listener.reconcile.cluster_cache import ClusterCache  # noqa: E402
from listener_support import make_namespace  # noqa: E402
from processes_support import start_api  # noqa: E402

INTERVAL = 20  # seconds between the listener's passes (METRICS_INTERVAL_SECONDS' default)
COMPUTE_ID = f"bench-metrics-{uuid.uuid4().hex[:6]}"


def agent_page() -> str:
    """A langgraph-api /metrics page (its OpenTelemetry exporter's shape) with 40 label sets."""
    lines = [
        "# HELP lg_api_http_requests_total Total number of HTTP requests",
        "# TYPE lg_api_http_requests_total counter",
    ]
    paths = ["/ok", "/runs/wait", "/threads", "/threads/{thread_id}/runs", "/assistants/search"]
    for i, path in enumerate(paths):
        for status in ("200", "404", "422", "500"):
            lines.append(f'lg_api_http_requests_total{{method="POST",path="{path}",status="{status}"}} {100 * i + 7}.0')
    lines += ["# TYPE lg_api_http_requests_latency histogram"]
    for path in paths:
        for le in ("10.0", "100.0", "1000.0", "+Inf"):
            lines.append(f'lg_api_http_requests_latency_bucket{{path="{path}",le="{le}"}} 5.0')
        lines += [
            f'lg_api_http_requests_latency_sum{{path="{path}"}} 250.0',
            f'lg_api_http_requests_latency_count{{path="{path}"}} 5.0',
        ]
    lines += ["# TYPE lg_api_num_pending_runs gauge", "lg_api_num_pending_runs 1.0"]
    lines += ["# TYPE lg_api_num_running_runs gauge", "lg_api_num_running_runs 2.0"]
    return "\n".join(lines) + "\n"


def start_page_server(page: str) -> tuple[subprocess.Popen[bytes], int]:
    """Serves `page` at every path, in its own process (its CPU is not the listener's)."""
    port = free_port()
    code = textwrap.dedent(f"""
        import http.server, sys
        body = sys.stdin.buffer.read()
        class Page(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("127.0.0.1", {port}), Page).serve_forever()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(page.encode())
    proc.stdin.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/x", timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the page server did not start")


def agent_deployment(namespace: str, desired: Any) -> str:
    """The agent's Deployment as kwok runs it, with the labels the listener selects by."""
    labels = {
        L.MANAGED_BY: L.MANAGED_BY_VALUE,
        L.LISTENER: COMPUTE_ID,
        L.DEPLOYMENT_ID: desired.id,
        L.COMPONENT: "langgraph-server",
        L.REVISION_ID: desired.revision.id,
    }
    meta_labels = json.dumps(labels)
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {desired.name}, namespace: {namespace}, labels: {meta_labels}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{{L.DEPLOYMENT_ID}: {desired.id}}}}}
  template:
    metadata: {{labels: {meta_labels}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: langgraph-server
          image: registry.bench/agent:1
          resources: {{requests: {{cpu: 10m, memory: 64Mi}}}}
          securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
---"""


def cpu_of(pid: int, with_children: bool = False) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *(root.children(recursive=True) if with_children else ())):
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def until(check, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


UPSERT = """
INSERT INTO deployment_metrics AS m (deployment_id, revision_id, resolution, bucket, figure, value_sum, samples)
VALUES ($1, $2, $3, date_bin(make_interval(secs => $3::int), $4, $6), $5, $7, 1)
ON CONFLICT (deployment_id, resolution, bucket, revision_id, figure)
DO UPDATE SET value_sum = m.value_sum + excluded.value_sum, samples = m.samples + 1
"""


async def bench(n: int, passes: int, api, cluster, postgres, database_url: str) -> None:
    admin = api.admin()
    namespace = make_namespace(cluster, "lgcp-mbench")
    key = (await admin.post("/api-keys", json={"name": "bench metrics", "role": "listener"})).json()["key"]
    control_plane = ControlPlane(api.url, key)
    listener_id = await control_plane.register(COMPUTE_ID, [namespace])
    gate = asyncio.Semaphore(8)

    async def create(i: int) -> None:
        body = {
            "name": f"m{i}-{uuid.uuid4().hex[:6]}",
            "source": "external_docker",
            "source_config": {"listener_id": listener_id, "listener_config": {"k8s_namespace": namespace}},
            "source_revision_config": {"image_uri": "registry.bench/agent:1"},
        }
        async with gate:
            (await admin.post("/deployments", json=body)).raise_for_status()

    await asyncio.gather(*(create(i) for i in range(n)))
    state = await control_plane.desired_state(listener_id)
    cluster.apply("".join(agent_deployment(namespace, d) for d in state.deployments))
    kube = Kube(await connect(str(cluster.kubeconfig)))
    cache = ClusterCache(kube, ("Deployment", "Pod"), [namespace], L.owned_selector(COMPUTE_ID), lambda _: None)
    informers = [asyncio.create_task(inf.run()) for inf in cache.informers.values()]
    page_server, port = start_page_server(agent_page())
    try:
        await cache.wait_synced()

        async def all_ready() -> bool:
            ready = [
                p
                for d in state.deployments
                for p in cache.pods_of(d.id)
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True" for c in p["status"].get("conditions") or []
                )
            ]
            return len(ready) >= n

        await until(all_ready, 300, f"{n} pods ready on kwok")
        me = psutil.Process()
        rss_before = me.memory_info().rss
        scraper = AgentScraper()
        gatherer = Gatherer(
            cache,
            lambda name: f"/lgp/{name}",
            PodUsage(kube),
            scraper,
            agent_url=lambda ip, prefix: f"http://127.0.0.1:{port}{prefix}/metrics",
        )
        deployments = list(state.deployments)
        await ship_once(gatherer, control_plane, deployments)  # warm: first scrapes, connections, imports
        cpu, wall, api_cpu, pg_cpu = [], [], [], []
        for _ in range(passes):
            await asyncio.sleep(1)  # rates need time between two scrapes
            c0, w0 = time.process_time(), time.perf_counter()
            a0, p0 = cpu_of(api.proc.pid), cpu_of(postgres.proc.pid, with_children=True)
            shipped = await ship_once(gatherer, control_plane, deployments)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            api_cpu.append(cpu_of(api.proc.pid) - a0)
            pg_cpu.append(cpu_of(postgres.proc.pid, with_children=True) - p0)
            assert shipped == n, f"{shipped} of {n} deployments shipped"
        rss_after = me.memory_info().rss
        points = await gatherer.gather(deployments)
        figures = sum(len(p["values"]) for ps in points.values() for p in ps)  # type: ignore[arg-type]

        # Floor: the same requests without the gatherer: N GETs of the page, N POSTs of the bodies.
        bodies = {d_id: json.dumps({"points": ps}).encode() for d_id, ps in points.items()}
        slots = asyncio.Semaphore(SCRAPES_AT_ONCE)
        floor_cpu, floor_api, floor_pg = [], [], []
        async with (
            httpx.AsyncClient(timeout=10) as bare,
            httpx.AsyncClient(
                base_url=api.url.rstrip("/") + "/v2/listener-api", headers={"X-Api-Key": key}, timeout=30
            ) as bare_api,
        ):

            async def get(d: Any) -> bytes:
                async with slots:
                    return (await bare.get(f"http://127.0.0.1:{port}/lgp/{d.name}/metrics")).content

            for _ in range(passes):
                await asyncio.sleep(1)
                c0 = time.process_time()
                a0, p0 = cpu_of(api.proc.pid), cpu_of(postgres.proc.pid, with_children=True)
                await asyncio.gather(*(get(d) for d in deployments))
                for d_id, body in bodies.items():
                    sent = await bare_api.post(
                        f"/deployments/{d_id}/metrics", content=body, headers={"Content-Type": "application/json"}
                    )
                    sent.raise_for_status()
                floor_cpu.append(time.process_time() - c0)
                floor_api.append(cpu_of(api.proc.pid) - a0)
                floor_pg.append(cpu_of(postgres.proc.pid, with_children=True) - p0)

        # The API's floor: the same rows upserted straight into PostgreSQL, one connection, no HTTP.
        conn = await asyncpg.connect(database_url)
        origin = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        rows = [
            (uuid.UUID(d_id), uuid.UUID(str(p["revision_id"])), res, dt.datetime.now(dt.UTC), fig, origin, float(v))
            for d_id, ps in points.items()
            for p in ps
            for fig, v in p["values"].items()  # type: ignore[union-attr]
            for res in (10, 60)
        ]
        sql_wall, sql_pg = [], []
        for _ in range(passes):
            p0, w0 = cpu_of(postgres.proc.pid, with_children=True), time.perf_counter()
            await conn.executemany(UPSERT, rows)
            sql_wall.append(time.perf_counter() - w0)
            sql_pg.append(cpu_of(postgres.proc.pid, with_children=True) - p0)
        await conn.close()
        await scraper.close()

        med = statistics.median
        per_minute = 60 / INTERVAL
        print(f"N={n} agents on kwok, {passes} passes measured ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
        print(
            f"  listener, one pass: CPU {ms(med(cpu))} (= {med(cpu) * per_minute:.2f} CPU s/min at one pass per "
            f"{INTERVAL} s), wall {ms(med(wall))}; {figures} figures in {sum(len(p) for p in points.values())} points"
        )
        print(
            f"  listener RSS: {rss_before / 2**20:.0f} MiB with the informers synced, {rss_after / 2**20:.0f} MiB "
            f"after the passes (+{(rss_after - rss_before) / 2**20:.1f} MiB)"
        )
        print(
            f"  floor, the same {n} GETs and {n} POSTs sent bare: CPU {ms(med(floor_cpu))} "
            f"(= {med(floor_cpu) * per_minute:.2f} CPU s/min)"
        )
        print(
            f"  API, one pass of {n} reports: API CPU {ms(med(api_cpu))} + PostgreSQL CPU {ms(med(pg_cpu))} "
            f"(= {(med(api_cpu) + med(pg_cpu)) * per_minute:.2f} CPU s/min); bare POSTs: API {ms(med(floor_api))} "
            f"+ PostgreSQL {ms(med(floor_pg))}"
        )
        print(
            f"  floor, the same {len(rows)} rows upserted through one asyncpg connection: wall {ms(med(sql_wall))}, "
            f"PostgreSQL CPU {ms(med(sql_pg))}"
        )
    finally:
        for task in informers:
            task.cancel()
        await asyncio.gather(*informers, return_exceptions=True)
        page_server.kill()
        await control_plane.close()
        await kube.api.close()
        await admin.aclose()
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--passes", type=int, default=10)
    args = parser.parse_args()
    cluster, started_here = ensure_cluster()
    postgres, redis_server = start_postgres(), start_redis()
    try:
        database_url = asyncio.run(postgres.create_database("lgcp_bench_metrics"))
        api = start_api(database_url, redis_server.url(0))
        try:
            asyncio.run(bench(args.n, args.passes, api, cluster, postgres, database_url))
        finally:
            api.stop()
    finally:
        redis_server.stop()
        postgres.stop()
        if started_here:
            cluster.down()


if __name__ == "__main__":
    main()
