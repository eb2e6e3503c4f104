#!/usr/bin/env python3
"""Listener benchmark: N deployments created through the real API, reconciled into the local cluster.

Prints, per N: time from the API's 201 to the Deployment existing in the cluster and to the
revision being DEPLOYED (p50, p99), the time and Kubernetes writes of a resync when nothing
changed, the listener's peak memory, and as the floor `kubectl apply --server-side` of the same
objects. Uses the test harness' servers (a throwaway Postgres and Redis, the local kwok cluster).

    .venv/bin/python bench/reconcile.py --n 10 100 --resync-only 1000

Each N is measured once per wake-up source (`--wakeup redis,http`, the default: a listener
reading the API's Redis stream, then a fresh one long-polling the API's `changes` endpoint with
no Redis URL at all), then the floor once, then the sources side by side. The listener's
periodic resync is RESYNC_SECONDS away, so only a wake-up can apply a change here.

`--resync-only` measures a resync of N settled deployments without the cluster (see resync_cost).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "listener")]

import psutil  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
import yaml  # noqa: E402
from harness.cluster import LocalCluster, ensure_cluster  # noqa: E402
from harness.postgres import PostgresServer, start_postgres  # noqa: E402
from harness.redis import RedisServer, start_redis  # noqa: E402
from lgcp_contract.desired_state import DesiredDeployment  # noqa: E402
from lgcp_contract.streams import listener_changes_stream  # noqa: E402
from lgcp_listener.configuration import RouteConfig  # noqa: E402
from lgcp_listener.kube.client import Kube, connect  # noqa: E402
from lgcp_listener.render.agent import render  # noqa: E402
from lgcp_listener.render.context import AgentConnections, RenderContext  # noqa: E402
from listener_support import make_namespace  # noqa: E402
from processes_support import ApiProcess, start_api, start_listener  # noqa: E402

T = TypeVar("T")

# Each agent asks for a little CPU: the simulated nodes' 2 x 32 cores then hold thousands.
AGENT_CPU = 0.02
CLUSTER_PROCESSES = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok-controller")
# The listener's periodic resync: far longer than any measurement here (bench() checks), so a
# change reaches the cluster only through the wake-up path under test, never through a resync.
RESYNC_SECONDS = 3600
# How a change wakes the listener (LGCP_LISTENER_WAKEUP_SOURCE), as each run's header says it.
WAKEUPS = {"redis": "woken through Redis", "http": "woken over HTTP"}


def cpu_seconds(processes: dict[int, str], cluster_dir: Path) -> dict[str, float]:
    """CPU seconds used so far by each process of this run (PostgreSQL with its backends) and by
    the local cluster's components: where a 2-core machine's time goes."""
    found: dict[str, float] = {}

    def add(name: str, proc: psutil.Process) -> None:
        times = proc.cpu_times()
        found[name] = found.get(name, 0.0) + times.user + times.system

    for pid, name in processes.items():
        try:
            root = psutil.Process(pid)
            # PostgreSQL works in the backends it forks; everything else is one process (and this
            # benchmark's children are the other processes listed, not its own work).
            for proc in (root, *(root.children(recursive=True) if name == "postgres" else ())):
                add(name, proc)
        except psutil.NoSuchProcess:
            continue
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if cmd and cmd[0].startswith(str(cluster_dir)) and Path(cmd[0]).name in CLUSTER_PROCESSES:
            try:
                add(Path(cmd[0]).name, proc)
            except psutil.NoSuchProcess:
                continue
    return found


def quantity(value: str | float) -> float:
    """A Kubernetes quantity as a number: "1k" -> 1000, "500m" -> 0.5, "2" -> 2."""
    text = str(value)
    if text.endswith("k"):
        return float(text[:-1]) * 1000
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def free_pod_slots(cluster: LocalCluster) -> int:
    """Agents (one pod of AGENT_CPU each) the local cluster's simulated nodes can still take."""
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    pods = [
        pod
        for pod in json.loads(cluster.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
        if pod["status"].get("phase") in ("Pending", "Running")
    ]
    requested = sum(
        quantity(container.get("resources", {}).get("requests", {}).get("cpu", 0))
        for pod in pods
        for container in pod["spec"]["containers"]
    )
    cpu = sum(quantity(node["status"]["allocatable"]["cpu"]) for node in nodes) - requested
    slots = sum(quantity(node["status"]["allocatable"]["pods"]) for node in nodes) - len(pods)
    return int(min(slots, cpu / AGENT_CPU))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def watch_added(kube: Kube, namespace: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    """Records when each Deployment first appears. Watches metadata only (PartialObjectMetadata):
    the benchmark must not spend the cores it measures on parsing every status update."""
    _, version = await kube.list("Deployment", namespace)
    accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
    while not stop.is_set():
        resp = await kube.api.call_api(
            f"/apis/apps/v1/namespaces/{namespace}/deployments",
            "GET",
            query_params=[("watch", "true"), ("resourceVersion", version), ("timeoutSeconds", "60")],
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=90,
        )
        try:
            while line := await resp.content.readline():
                event = json.loads(line)
                meta = event["object"]["metadata"]
                version = meta.get("resourceVersion", version)
                if event["type"] == "ADDED":
                    seen.setdefault(meta["name"], time.time())
        finally:
            resp.release()


def deployment_body(prefix: str, listener_id: str, namespace: str) -> dict[str, Any]:
    """A POST /v2/deployments body for one small agent named `<prefix>-<random>`."""
    return {
        "name": f"{prefix}-{uuid.uuid4().hex[:10]}",
        "source": "external_docker",
        "source_config": {
            "listener_id": listener_id,
            "listener_config": {"k8s_namespace": namespace},
            "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": AGENT_CPU, "memory_mb": 128},
        },
        "source_revision_config": {"image_uri": "registry.bench/agent:1"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-bench"}],
    }


def parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def until(check: Callable[[], Awaitable[T | None]], within: float, what: str, interval: float = 0.1) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what} not reached within {within:.0f}s")


def floor_apply(cluster: LocalCluster, n: int) -> tuple[float, int]:
    """`kubectl apply --server-side` of the same objects for n agents in a fresh namespace."""
    namespace = make_namespace(cluster, "lgcp-floor")
    ctx = RenderContext("bench-floor", RouteConfig("langsmith.bench"))
    docs = []
    for _ in range(n):
        desired = DesiredDeployment.model_validate(
            {
                "id": str(uuid.uuid4()),
                "name": f"agent-{uuid.uuid4().hex[:8]}",
                "namespace": namespace,
                "source_config": {"resource_spec": {"cpu": AGENT_CPU, "memory_mb": 128}},
                "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-bench"}],
                "revision": {"id": str(uuid.uuid4()), "image_uri": "registry.bench/agent:1", "status": "QUEUED"},
            }
        )
        docs += render(desired, AgentConnections("postgresql://u:p@pg:5432/db", "redis://r:6379/1"), ctx)
    path = Path(tempfile.mkdtemp(prefix="lgcp-bench-")) / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    started = time.perf_counter()
    # Not cluster.kubectl(): its 120 s timeout is too short for thousands of objects here.
    subprocess.run(
        [
            str(REPO / ".tools" / "bin" / "kubectl"),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "apply",
            "--server-side",
            "--field-manager=bench",
            "-f",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    return elapsed, len(docs)


def database_settings(mode: str, n: int, postgres: PostgresServer, started: list[RedisServer]) -> dict[str, str]:
    """The listener's database settings: `external` (nothing to provision: the Kubernetes side
    alone) or `shared` (a database, role and Redis number made per agent, as by default)."""
    if mode == "external":
        return {
            "LGCP_LISTENER_DATABASE_MODE": "external",
            "LGCP_LISTENER_EXTERNAL_DATABASE_URI_TEMPLATE": "postgresql://agent:pw@pg:5432/{database}",
            "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE": "redis://redis:6379/0",
        }
    agents_redis = start_redis(databases=n + 1)
    started.append(agents_redis)
    admin_url = asyncio.run(postgres.create_database(f"lgcp_bench_dp_{uuid.uuid4().hex[:6]}"))
    return {
        "LGCP_LISTENER_DATABASE_MODE": "shared",
        "LGCP_LISTENER_POSTGRES_ADMIN_URL": admin_url,
        "LGCP_LISTENER_AGENT_POSTGRES_HOST": "127.0.0.1",
        "LGCP_LISTENER_AGENT_POSTGRES_PORT": str(postgres.port),
        "LGCP_LISTENER_AGENT_REDIS_URL": agents_redis.url(0),
        "LGCP_LISTENER_AGENT_REDIS_DATABASES": str(n + 1),
    }


def wakeup_settings(wakeup: str, redis_server: RedisServer) -> dict[str, str]:
    """`redis`: the listener reads the API's Redis stream itself. `http`: it long-polls the API
    (`GET /v2/listener-api/listeners/{id}/changes`) and is given no Redis URL, as a data plane in
    another cluster is; the API reads the same stream for it."""
    if wakeup == "http":
        return {"LGCP_LISTENER_WAKEUP_SOURCE": "http"}
    return {"LGCP_LISTENER_WAKEUP_SOURCE": "redis", "LGCP_LISTENER_REDIS_URL": redis_server.url(0)}


async def bench(
    n: int,
    api: ApiProcess,
    cluster: LocalCluster,
    redis_server: RedisServer,
    databases: dict[str, str],
    servers: dict[int, str],
    rate: float = 0,
    wakeup: str = "redis",
) -> dict[str, Any]:
    """One listener woken by `wakeup` through N creations and a resync. Returns what run_all
    compares across wake-up sources: `applied` and `deployed` (seconds after each 201, the
    latter empty when not measured) and the `namespace`, deleted without waiting."""
    namespace = make_namespace(cluster, "lgcp-bench")
    # Its idempotent reads (the polls below) are resent when a kept-alive connection was cut
    # (processes_support.ResendingTransport): one ReadError must not end a run of minutes.
    admin = api.admin()
    key = (await admin.post("/api-keys", json={"name": "bench listener", "role": "listener"})).json()["key"]
    compute_id = f"bench-{uuid.uuid4().hex[:8]}"
    listener = start_listener(
        {
            "LGCP_LISTENER_API_URL": api.url,
            "LGCP_LISTENER_API_KEY": key,
            "LGCP_LISTENER_COMPUTE_ID": compute_id,
            "LGCP_LISTENER_NAMESPACES": namespace,
            **wakeup_settings(wakeup, redis_server),
            **databases,
            "LGCP_LISTENER_KUBECONFIG": str(cluster.kubeconfig),
            "LGCP_LISTENER_LEADER_ELECTION": "false",
            "LGCP_LISTENER_RESYNC_SECONDS": str(RESYNC_SECONDS),
            "LGCP_LISTENER_LOG_LEVEL": "WARNING",
        }
    )
    listener_started = time.monotonic()  # its first periodic resync is RESYNC_SECONDS after this
    kube = Kube(await connect(str(cluster.kubeconfig)))
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_added(kube, namespace, seen, stop))
    try:

        async def registered() -> str | None:
            page = (await admin.get("/listeners", params={"limit": 100})).json()["resources"]
            return next((item["id"] for item in page if item["compute_id"] == compute_id), None)

        listener_id = await until(registered, 30, "registration")
        # Ready: the desired state read and the wake-ups positioned (the first long poll answered).
        await until(lambda: asyncio.to_thread(listener.ready), 30, "the listener ready")
        await asyncio.sleep(0.5)  # let the listener's first desired state and watches settle

        created: dict[str, tuple[float, dict[str, Any]]] = {}
        gate = asyncio.Semaphore(4)

        async def create(index: int) -> None:
            if rate:
                await asyncio.sleep(index / rate)
            body = deployment_body("a", listener_id, namespace)
            async with gate:
                response = await admin.post("/deployments", json=body)
                at = time.time()
            response.raise_for_status()
            created[body["name"]] = (at, response.json())

        measured = {listener.proc.pid: "listener", api.proc.pid: "api", os.getpid(): "this benchmark", **servers}
        cpu_before = cpu_seconds(measured, cluster.kubeconfig.parent)
        started = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(n)))
        create_seconds = time.perf_counter() - started
        await until(lambda: asyncio.sleep(0, len(seen) >= n), 120 + n, "all Deployments applied", 0.2)
        applied_seconds = time.perf_counter() - started
        if time.monotonic() - listener_started >= RESYNC_SECONDS:
            raise RuntimeError(f"the run outlasted the {RESYNC_SECONDS}s resync interval: not a wake-up measurement")
        cpu_after = cpu_seconds(measured, cluster.kubeconfig.parent)
        applied = [seen[name] - at for name, (at, _) in created.items()]
        pace = f"paced at {rate:g}/s" if rate else "4 in flight"
        mode = databases["LGCP_LISTENER_DATABASE_MODE"]
        print(
            f"N={n} ({mode} databases, {WAKEUPS[wakeup]}): created through the API in {create_seconds:.1f}s "
            f"({n / create_seconds:.0f}/s, {pace})"
        )
        print(
            f"  201 -> Deployment in the cluster: p50 {ms(pct(applied, 0.5))}, p99 {ms(pct(applied, 0.99))}, "
            f"max {ms(max(applied))}"
        )
        used = {name: cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_after}
        print(
            f"  CPU seconds until the last Deployment ({applied_seconds:.1f}s, {os.cpu_count()} cores): "
            + ", ".join(f"{name} {value:.1f}" for name, value in sorted(used.items(), key=lambda kv: -kv[1]))
        )

        to_deployed: list[float] = []
        if n <= free_pod_slots(cluster):
            pending = {name: body for name, (_, body) in created.items()}
            deployed: dict[str, float] = {}

            async def poll() -> bool:
                async def one(name: str, body: dict[str, Any]) -> None:
                    r = (await admin.get(f"/deployments/{body['id']}/revisions/{body['latest_revision_id']}")).json()
                    if r["status"] == "DEPLOYED":
                        deployed[name] = parse_time(r["updated_at"])
                        pending.pop(name, None)

                await asyncio.gather(*(one(k, v) for k, v in list(pending.items())[:50]))
                return not pending

            await until(poll, 300 + n, "all DEPLOYED", 0.5)
            to_deployed = [deployed[name] - at for name, (at, _) in created.items()]
            print(f"  201 -> DEPLOYED: p50 {ms(pct(to_deployed, 0.5))}, p99 {ms(pct(to_deployed, 0.99))}")
        else:
            print("  201 -> DEPLOYED: not measured (more pods than the local cluster has room for)")

        # A resync with nothing changed: first let the listener finish everything it is doing
        # (the reconcile count stays put for 3 s with an empty queue), then wake it and count.
        # The entry goes into the API's Redis stream either way: the http listener gets it from
        # the API's long poll, which reads that stream.
        count_name = "lgcp_listener_reconcile_duration_seconds_count"
        settled = {"count": -1.0, "since": time.monotonic()}

        async def quiet() -> bool:
            count = listener.metric(count_name)
            if count != settled["count"] or listener.metric("lgcp_listener_queue_depth") != 0:
                settled.update(count=count, since=time.monotonic())
            return time.monotonic() - settled["since"] >= 3

        await until(quiet, 600, "the listener to settle", 0.5)
        writes0, count0 = listener.metric("lgcp_listener_kubernetes_writes_total"), listener.metric(count_name)
        client = aioredis.Redis.from_url(redis_server.url(0))
        started = time.perf_counter()
        await client.xadd(listener_changes_stream(listener_id), {"deployment_id": "", "change": "bench-resync"})
        await client.aclose()

        async def drained() -> bool:
            return listener.metric(count_name) >= count0 + n and listener.metric("lgcp_listener_queue_depth") == 0

        await until(drained, 120, "resync", 0.02)
        resync_seconds = time.perf_counter() - started
        writes = listener.metric("lgcp_listener_kubernetes_writes_total") - writes0
        print(f"  resync of {n} unchanged deployments: {resync_seconds:.2f}s, {writes:.0f} Kubernetes writes")
        status = await asyncio.to_thread(Path(f"/proc/{listener.proc.pid}/status").read_text)
        peak_kb = int(cast(re.Match[str], re.search(r"VmHWM:\s+(\d+) kB", status)).group(1))
        print(f"  listener peak memory (VmHWM): {peak_kb / 1024:.0f} MB")
        for trouble in ("notification stream not reachable", "wake-ups from the API unavailable"):
            if trouble in listener.output():
                print(f"  warning: the listener logged '{trouble}' (see {listener.log})")
        return {"applied": applied, "deployed": to_deployed, "namespace": namespace}
    finally:
        stop.set()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        listener.stop()
        await kube.api.close()
        await admin.aclose()
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


async def resync_cost(n: int, api: ApiProcess, cluster: LocalCluster) -> None:
    """The cost of a resync of n settled deployments where the cluster cannot hold n agents.

    The deployments are real rows of the real API (no listener runs meanwhile); the desired
    state is fetched over HTTP as the listener does; then one reconciler pass runs over caches
    pre-filled with exactly what a previous pass would have applied and observed (hash,
    generation, a complete rollout, DEPLOYED already reported). It shows the fetch and the
    listener's own CPU cost, and that such a pass writes nothing; it is not a cluster run.
    """
    from lgcp_listener.configuration import ExternalDatabasesConfig
    from lgcp_listener.control_plane.client import ControlPlane
    from lgcp_listener.databases.external import ExternalMode
    from lgcp_listener.reconcile.controller import Controller
    from lgcp_listener.render.context import Owner

    namespace = f"lgcp-resync-{uuid.uuid4().hex[:6]}"  # never created: nothing is sent to Kubernetes
    admin = api.admin()
    # The listener-facing API takes only listener keys (it answers decrypted secrets).
    key = (await admin.post("/api-keys", json={"name": "bench resync", "role": "listener"})).json()["key"]
    control_plane = ControlPlane(api.url, key)
    listener_id = await control_plane.register(f"resync-{uuid.uuid4().hex[:8]}", [namespace])
    gate = asyncio.Semaphore(8)

    async def create() -> None:
        body = deployment_body("r", listener_id, namespace)
        async with gate:
            (await admin.post("/deployments", json=body)).raise_for_status()

    await asyncio.gather(*(create() for _ in range(n)))

    started = time.perf_counter()
    state = await control_plane.desired_state(listener_id)
    fetch_seconds = time.perf_counter() - started
    kube = Kube(await connect(str(cluster.kubeconfig)))
    mode = ExternalMode(ExternalDatabasesConfig("postgresql://agent:pw@pg:5432/{database}", "redis://redis:6379/0"))
    ctx = RenderContext(f"resync-{n}", RouteConfig("langsmith.bench"))
    reconciler = Controller(kube, control_plane, mode, ctx, [namespace], workers=8)
    for desired in state.deployments:
        assert desired.revision is not None
        conn = await mode.connections(desired, None)
        objects = render(desired, conn, ctx, Owner(desired.name, f"uid-{desired.id}"))
        for obj in objects:
            uid = f"uid-{desired.id}" if obj["kind"] == "Deployment" else f"uid-{obj['kind']}-{desired.id}"
            obj["metadata"].update(generation=1, uid=uid, resourceVersion="1")
            if obj["kind"] == "Deployment":
                obj["status"] = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
                reconciler.cache.located[desired.id] = (namespace, desired.name)
            reconciler.cache.informer(obj["kind"], namespace).objects[obj["metadata"]["name"]] = obj
        reconciler.reporter.assume_settled(desired, objects)  # DEPLOYED, READY and previewed already
    workers = asyncio.create_task(reconciler.run_workers())
    started = time.perf_counter()
    reconciler.set_desired(state.deployments)

    async def idle() -> bool:
        return not len(reconciler.queue) and not reconciler.queue._active

    await until(idle, 600, "the pass", 0.005)
    pass_seconds = time.perf_counter() - started
    workers.cancel()
    await asyncio.gather(workers, return_exceptions=True)
    print(
        f"N={n} resync cost (no cluster, see the docstring): desired-state fetch {fetch_seconds:.2f}s, "
        f"pass over {len(state.deployments)} settled deployments {pass_seconds:.2f}s, {kube.writes} Kubernetes writes"
    )
    await control_plane.close()
    await kube.api.close()
    await admin.aclose()


def print_floor(n: int, floor_seconds: float, objects: int) -> None:
    print(
        f"  floor, kubectl apply --server-side of the same {objects} objects: {floor_seconds:.1f}s "
        f"({ms(floor_seconds / n)} per agent)"
    )


def print_compared(n: int, results: dict[str, dict[str, Any]], floor_seconds: float) -> None:
    """The wake-up sources of one N side by side, beside the floor measured in the same run."""
    print(f"  N={n} by wake-up source (same run; floor {floor_seconds:.1f}s for all {n}):")
    for wakeup, result in results.items():
        applied, deployed = result["applied"], result["deployed"]
        line = f"    {wakeup:<5} 201 -> Deployment p50 {ms(pct(applied, 0.5))}, p99 {ms(pct(applied, 0.99))}"
        if deployed:
            line += f"; 201 -> DEPLOYED p50 {ms(pct(deployed, 0.5))}, p99 {ms(pct(deployed, 0.99))}"
        print(line)


async def run_all(
    sizes: list[int],
    api: ApiProcess,
    cluster: LocalCluster,
    redis_server: RedisServer,
    resync_only: list[int],
    rate: float,
    databases: dict[tuple[int, str], dict[str, str]],
    servers: dict[int, str],
    wakeups: Sequence[str] = ("redis",),
) -> None:
    print(
        f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start; "
        f"wake-ups: {', '.join(wakeups)}; listener resync every {RESYNC_SECONDS}s (none within a run)"
    )
    for n in sizes:
        results: dict[str, dict[str, Any]] = {}
        for wakeup in wakeups:
            results[wakeup] = await bench(n, api, cluster, redis_server, databases[n, wakeup], servers, rate, wakeup)
            # The next listener starts on a cluster no longer busy deleting this one's agents.
            namespace = f"namespace/{results[wakeup]['namespace']}"
            cluster.kubectl("wait", "--for=delete", namespace, "--timeout=600s", check=False, timeout=660)
        floor_seconds, objects = floor_apply(cluster, n)
        print_floor(n, floor_seconds, objects)
        if len(wakeups) > 1:
            print_compared(n, results, floor_seconds)
    for n in resync_only:
        await resync_cost(n, api, cluster)


def wakeup_list(text: str) -> list[str]:
    """`--wakeup redis,http`: the sources, in the order they run."""
    sources = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [source for source in sources if source not in WAKEUPS]
    if unknown or not sources or len(set(sources)) != len(sources):
        raise argparse.ArgumentTypeError(f"a comma-separated list of distinct {' and '.join(WAKEUPS)}, not {text!r}")
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[10, 100])
    parser.add_argument(
        "--database-mode",
        choices=["external", "shared"],
        default="external",
        help="external: the Kubernetes side alone; shared: with a database per agent",
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="creations per second (default: as fast as 4 requests in flight allow)"
    )
    parser.add_argument(
        "--resync-only",
        type=int,
        nargs="*",
        default=[1000],
        help="sizes too large for the local cluster: resync cost without it",
    )
    parser.add_argument(
        "--wakeup",
        type=wakeup_list,
        default=list(WAKEUPS),
        help="how the listener is woken, one run of each in this order (default: redis,http)",
    )
    args = parser.parse_args()
    cluster, started_here = ensure_cluster()
    # The harness starts its servers synchronously (outside any event loop).
    postgres, redis_server = start_postgres(), start_redis()
    agents_servers: list[RedisServer] = []
    try:
        database_url = asyncio.run(postgres.create_database("lgcp_bench"))
        # Each listener its own (a shared-mode listener's agents hold their databases and Redis numbers).
        databases = {
            (n, wakeup): database_settings(args.database_mode, n, postgres, agents_servers)
            for n in args.n
            for wakeup in args.wakeup
        }
        api = start_api(database_url, redis_server.url(0))
        try:
            servers = {
                postgres.proc.pid: "postgres",
                redis_server.proc.pid: "redis",
                **{server.proc.pid: "agents' redis" for server in agents_servers},
            }
            asyncio.run(
                run_all(
                    args.n, api, cluster, redis_server, args.resync_only, args.rate, databases, servers, args.wakeup
                )
            )
        finally:
            api.stop()
    finally:
        for server in agents_servers:
            server.stop()
        redis_server.stop()
        postgres.stop()
        if started_here:
            cluster.down()


if __name__ == "__main__":
    main()
