"""The Kubernetes API server (the suite's own kwok cluster: etcd, kube-apiserver, controllers)
restarted in the middle of a reconcile, then unreachable for LGCP_FAULTS_KUBE_DOWN_SECONDS
(default 60, the issue's minute) while writes go on: the listener relists (or, once its lease has
run out, exits and is started again, as the kubelet would), converges to every acknowledged write,
and writes no duplicate: every object made before the fault keeps its UID, and there is one object
of each kind per deployment (issue 14)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import pytest
from fault_checks import all_deployed, check_api, check_database, converged
from fault_plane import FAULTS, record
from fault_writes import Writer
from lgcp_contract import labels as L
from listener_support import eventually

pytestmark = pytest.mark.cluster
DOWN_SECONDS = float(os.environ.get("LGCP_FAULTS_KUBE_DOWN_SECONDS", "60"))
LEASE_SECONDS = 15  # outlives the quick restart (a relist), not the long outage (a restart)
KINDS = "deployments,secrets,services,ingresses,poddisruptionbudgets,horizontalpodautoscalers"


def owned(cluster, namespace: str, compute_id: str) -> dict[str, str]:
    """kind/name -> UID of every object the listener owns in the namespace."""
    items = cluster.get_json(KINDS, "-n", namespace, "-l", L.owned_selector(compute_id))["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["uid"] for i in items}


async def supervise(stack, restarts: list[float]) -> None:
    """Starts the listener again whenever it exits, as the kubelet restarts a pod's container
    (it does so without the API server)."""
    while True:
        if stack.listeners[-1].proc.poll() is not None:
            restarts.append(time.monotonic())
            await asyncio.to_thread(stack.start)
        await asyncio.sleep(0.5)


async def test_kube_api_server_restarted_and_unreachable_the_listener_converges_without_duplicates(plane) -> None:
    stack = await plane.start(LGCP_LISTENER_LEASE_DURATION_SECONDS=str(LEASE_SECONDS))
    await eventually(stack.listeners[-1].ready, 60)
    writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
    restarts: list[float] = []
    keeper = asyncio.create_task(supervise(stack, restarts))
    cluster, ns, cid = stack.cluster, stack.namespace, stack.compute_id
    try:
        # 1. Restarted mid-reconcile: a batch of creates, the cluster stopped as the first lands.
        ids = [await writer.create(f"kube-{i}", "registry.test/agent:0") for i in range(6)]
        await eventually(lambda: any(stack.exists("deployment", f"kube-{i}") for i in range(6)), 60, interval=0.05)
        made = await asyncio.to_thread(owned, cluster, ns, cid)
        await asyncio.to_thread(FAULTS.kwokctl, "stop", "cluster")
        await asyncio.to_thread(FAULTS.kwokctl, "start", "cluster")
        relist = await converged(cluster, ns, cid, writer.ledger)
        quick_restarts = len(restarts)
        # 2. Unreachable for a while, writes going on meanwhile (the API does not need it).
        made = {**await asyncio.to_thread(owned, cluster, ns, cid), **made}
        await asyncio.to_thread(FAULTS.kwokctl, "stop", "cluster")
        down_at = time.monotonic()
        for i, deployment_id in enumerate(ids[:3]):
            await writer.patch(deployment_id, "registry.test/agent:1")
            await writer.create(f"kube-late-{i}", "registry.test/agent:0")
        # A 412 only of a race with a status report (read again); never a transport error.
        assert set(writer.ledger.answers) <= {"200", "201", "412"} and not writer.ledger.refusals(), (
            writer.ledger.summary()
        )
        await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))
        await asyncio.to_thread(FAULTS.kwokctl, "start", "cluster")
        down_for = time.monotonic() - down_at
        to_cluster = await converged(cluster, ns, cid, writer.ledger, within=300)
        deployed = await all_deployed(stack.admin, writer.ledger, within=400)
        now = await asyncio.to_thread(owned, cluster, ns, cid)
        changed = {k: (uid, now.get(k)) for k, uid in made.items() if now.get(k) != uid}
        assert not changed, f"objects deleted or made again: {changed}"
        per_kind = Counter(k.split("/")[0] for k in now)
        live = len(writer.ledger.created)
        assert per_kind["Deployment"] == live and per_kind["Service"] == live, per_kind
        found_api = await check_api(stack.admin, writer.ledger)
        found_db = await check_database(plane.api_dsn, writer.ledger)
        record(
            "kube-api-down",
            quick_restart_converged_seconds=round(relist, 2),
            listener_restarts_during_quick_restart=quick_restarts,
            down_seconds=round(down_for, 1),
            lease_seconds=LEASE_SECONDS,
            listener_restarts_total=len(restarts),
            acknowledged=writer.ledger.acknowledged,
            found_in_api=found_api,
            found_in_database=found_db,
            objects_kept_uid=len(made),
            objects_per_kind=dict(per_kind),
            cluster_converged_after_api_server_back_seconds=round(to_cluster, 2),
            all_deployed_after_api_server_back_seconds=round(to_cluster + deployed, 2),
        )
    finally:
        keeper.cancel()
        await writer.aclose()
