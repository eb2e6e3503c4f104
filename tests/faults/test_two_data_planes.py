"""Two data planes on one control plane (issue 15): two Kubernetes clusters at once, each with
its own listener, agents' PostgreSQL and Redis. Listener A runs beside the control plane (woken
through its Redis); listener B is a data-plane-only install's listener in another cluster: it has
no address of the control plane's Redis and is woken over HTTP (the API's long-poll changes
endpoint). Deployments land only in their own listener's cluster; with the API gone for
LGCP_FAULTS_API_DOWN_SECONDS (default 60) both data planes keep every agent as last applied
(nothing deleted, replaced or rewritten), and writes made once it is back converge in both.

The clusters are the suite's own kwok cluster (A) and the shared kwok cluster (B): real API
servers, simulated pods. The listeners run as processes, configured as the chart's control-plane
and data-plane modes configure them (values/dataplane.yaml's listener: HTTP wake-ups, its own
stores); the chart's data-plane mode itself is checked by helm-unittest and the server dry runs."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
from fault_checks import all_deployed, converged
from fault_plane import record
from fault_writes import Writer
from harness.postgres import start_postgres
from harness.redis import start_redis
from lgcp_contract import labels as L
from listener_support import eventually, make_namespace
from processes_support import Stack

pytestmark = pytest.mark.cluster
DOWN_SECONDS = float(os.environ.get("LGCP_FAULTS_API_DOWN_SECONDS", "60"))
# No periodic resync within the case: only the wake-ups (Redis for A, the long poll for B) can
# apply a change, so a data plane that waits out a backoff after the outage shows.
RESYNC = "3600"
# Catching up once the API is back: A is woken at once; B polls again within its 5 s cap (6 s
# with jitter). The bound leaves room for a loaded machine, and is shorter than the waits the
# listeners had before (A's read backoff grew past a minute, B's poll backoff to 30 s).
CATCH_UP_SECONDS = 20


def managed(cluster) -> dict[str, dict]:
    """Every object a listener manages in `cluster`, all namespaces: 'kind/namespace/name' -> the
    identity and generation that show a deletion, a replacement or a rewrite."""
    objects = {}
    for kind in ("deployments", "services", "secrets", "ingresses"):
        items = cluster.get_json(kind, "-A", "-l", L.DEPLOYMENT_ID)["items"]
        for item in items:
            meta = item["metadata"]
            objects[f"{kind}/{meta['namespace']}/{meta['name']}"] = {
                "uid": meta["uid"],
                "generation": meta.get("generation"),
                "resourceVersion": meta["resourceVersion"] if kind == "secrets" else None,
                "deployment_id": meta["labels"][L.DEPLOYMENT_ID],
            }
    return objects


def pods(cluster) -> dict[str, str]:
    """The agents' pods of `cluster`: name -> uid (a restart by replacement changes the set)."""
    items = cluster.get_json("pods", "-A", "-l", L.DEPLOYMENT_ID)["items"]
    return {i["metadata"]["name"]: i["metadata"]["uid"] for i in items if not i["metadata"].get("deletionTimestamp")}


async def test_two_clusters_each_run_only_their_deployments_and_keep_them_while_the_api_is_gone(
    plane, local_cluster, postgres_server, redis_server
) -> None:
    # A: the control plane's own cluster, woken through the control plane's Redis.
    a = await plane.start(LGCP_LISTENER_RESYNC_SECONDS=RESYNC)
    assert plane.api is not None
    # B: another cluster with its own stores; no Redis URL of the control plane at all.
    b_postgres = await asyncio.to_thread(start_postgres)
    b_redis = await asyncio.to_thread(start_redis)
    b_namespace = make_namespace(local_cluster, "lgcp-dp")
    writers: list[Writer] = []
    b: Stack | None = None
    try:
        key = (await a.admin.post("/api-keys", json={"name": "data-plane-b", "role": "listener"})).json()["key"]
        b_admin_db = await b_postgres.create_database(f"dp_{uuid.uuid4().hex[:8]}")
        b = Stack(plane.api, local_cluster, b_postgres, b_redis, a.admin, b_namespace, key, b_admin_db)
        del b.env["LGCP_LISTENER_REDIS_URL"]
        b.env.update({"LGCP_LISTENER_WAKEUP_SOURCE": "http", "LGCP_LISTENER_RESYNC_SECONDS": RESYNC})
        b.start()
        await b.registered()
        await eventually(b.listeners[-1].ready, 60)
        await eventually(a.listeners[-1].ready, 60)

        writer_a = Writer(plane.api.url, plane.api.admin_key, a.listener_id or "", a.namespace)
        writer_b = Writer(plane.api.url, plane.api.admin_key, b.listener_id or "", b.namespace)
        writers = [writer_a, writer_b]
        # A deployment names its listener's namespace; another listener's namespace is refused.
        astray = writer_b.body("astray", "registry.test/agent:0")
        astray["source_config"]["listener_config"]["k8s_namespace"] = a.namespace
        refused = await a.admin.post("/deployments", json=astray)
        assert refused.status_code == 400 and "namespace" in refused.json()["detail"], refused.text

        started = time.monotonic()
        await asyncio.gather(
            writer_a.churn("plane-a", deployments=3, patches_each=1),
            writer_b.churn("plane-b", deployments=3, patches_each=1),
        )
        await converged(a.cluster, a.namespace, a.compute_id, writer_a.ledger)
        await converged(b.cluster, b.namespace, b.compute_id, writer_b.ledger)
        await all_deployed(a.admin, writer_a.ledger)
        await all_deployed(a.admin, writer_b.ledger)
        first_converged = time.monotonic() - started

        # Each cluster holds only its own listener's deployments, in every namespace.
        ids_a, ids_b = set(writer_a.ledger.created.values()), set(writer_b.ledger.created.values())
        in_a = {o["deployment_id"] for o in (await asyncio.to_thread(managed, a.cluster)).values()}
        in_b = {o["deployment_id"] for o in (await asyncio.to_thread(managed, b.cluster)).values()}
        assert ids_a <= in_a and not (ids_b & in_a), (ids_a, ids_b, in_a)
        assert ids_b <= in_b and not (ids_a & in_b), (ids_a, ids_b, in_b)

        # The API gone for a minute: both data planes keep everything as last applied.
        before = {"a": await asyncio.to_thread(managed, a.cluster), "b": await asyncio.to_thread(managed, b.cluster)}
        pods_before = {"a": await asyncio.to_thread(pods, a.cluster), "b": await asyncio.to_thread(pods, b.cluster)}
        env = plane.kill_api()
        down_at = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)
        after = {"a": await asyncio.to_thread(managed, a.cluster), "b": await asyncio.to_thread(managed, b.cluster)}
        pods_after = {"a": await asyncio.to_thread(pods, a.cluster), "b": await asyncio.to_thread(pods, b.cluster)}
        assert a.listeners[-1].proc.poll() is None and b.listeners[-1].proc.poll() is None, "a listener exited"
        for side in ("a", "b"):
            assert after[side] == before[side], f"data plane {side} changed objects while the API was gone"
            assert pods_after[side] == pods_before[side], f"data plane {side} replaced pods while the API was gone"
        await asyncio.to_thread(plane.start_api_again, env)
        down_for = time.monotonic() - down_at

        # Changes made once it is back converge in both clusters (B: its next long poll).
        back = time.monotonic()
        name_a, name_b = sorted(writer_a.ledger.created)[0], sorted(writer_b.ledger.created)[0]
        await writer_a.patch(writer_a.ledger.created[name_a], "registry.test/agent:after")
        await writer_b.patch(writer_b.ledger.created[name_b], "registry.test/agent:after")
        await writer_b.create("plane-b-after", "registry.test/agent:after")
        written = time.monotonic() - back
        # Both at once, each timed from the writes (a failure names what still differs).
        to_a, to_b = await asyncio.gather(
            converged(a.cluster, a.namespace, a.compute_id, writer_a.ledger, within=CATCH_UP_SECONDS),
            converged(b.cluster, b.namespace, b.compute_id, writer_b.ledger, within=CATCH_UP_SECONDS),
        )
        converged_after = time.monotonic() - back
        await all_deployed(a.admin, writer_b.ledger)
        listed = (await a.admin.get("/listeners", params={"limit": 100})).json()["resources"]
        assert {item["id"]: item for item in listed}[b.listener_id]["last_seen_at"] is not None
        record(
            "two-data-planes",
            deployments_per_plane=3,
            acknowledged={"a": writer_a.ledger.acknowledged, "b": writer_b.ledger.acknowledged},
            first_converged_seconds=round(first_converged, 2),
            api_down_seconds=round(down_for, 1),
            objects_kept={"a": len(before["a"]), "b": len(before["b"])},
            pods_kept={"a": len(pods_before["a"]), "b": len(pods_before["b"])},
            writes_after_api_back_took_seconds=round(written, 2),
            converged_after_writes_seconds={"a": round(to_a, 2), "b": round(to_b, 2)},
            converged_after_api_back_seconds=round(converged_after, 2),
        )
    finally:
        for writer in writers:
            await writer.aclose()
        if b is not None:
            b.stop()
        local_cluster.kubectl("delete", "namespace", b_namespace, "--wait=false", check=False)
        b_postgres.stop()
        b_redis.stop()
