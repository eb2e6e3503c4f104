"""Two listener replicas; the lease holder frozen (SIGSTOP) past its lease while a change is on
its way to it: the standby takes over and converges every acknowledged write, and when the frozen
one resumes (SIGCONT) it writes nothing, to the cluster or to the API, and stops leading (issue 14)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest
from fault_checks import all_deployed, check_api, check_database, converged, listed
from fault_plane import record
from fault_writes import Writer
from lgcp_contract import labels as L
from listener_support import eventually, make_namespace

pytestmark = pytest.mark.cluster
LEASE_SECONDS = 3  # the Stack's lease: a takeover needs it to expire on the standby's clock
FROZEN_SECONDS = 4 * LEASE_SECONDS


def cluster_writes(cluster, namespace: str, compute_id: str) -> dict[str, str]:
    """What changes only when someone writes an object's spec or data: a Deployment's generation
    and image, every other owned object's resourceVersion, and the Lease's holder."""
    items = cluster.get_json(
        "deployments,secrets,services,ingresses,poddisruptionbudgets,horizontalpodautoscalers",
        "-n",
        namespace,
        "-l",
        L.owned_selector(compute_id),
    )["items"]
    seen = {}
    for i in items:
        key = f"{i['kind']}/{i['metadata']['name']}"
        if i["kind"] == "Deployment":
            seen[key] = f"{i['metadata']['generation']} {i['spec']['template']['spec']['containers'][0]['image']}"
        elif i["kind"] in ("Secret", "Service"):
            seen[key] = i["metadata"]["resourceVersion"]
        else:  # their status is the cluster's to write
            seen[key] = str(i["metadata"].get("generation"))
    return seen


async def revision_statuses(admin, ledger) -> dict[str, str]:
    statuses = {}
    for deployment_id in ledger.created.values():
        for revision in await listed(admin, f"/deployments/{deployment_id}/revisions"):
            statuses[revision["id"]] = f"{revision['status']} {revision.get('status_message')}"
    return statuses


async def exits_within(listener, seconds: float) -> bool:
    try:
        await asyncio.to_thread(listener.proc.wait, seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


async def test_frozen_lease_holder_is_replaced_and_writes_nothing_when_it_resumes(plane) -> None:
    stack = await plane.start()
    leader = stack.listeners[-1]
    await eventually(leader.ready, 60)
    standby = stack.start()
    writer = Writer(plane.api.url, plane.api.admin_key, stack.listener_id, stack.namespace)
    try:
        first = await writer.create("frozen-a", "registry.test/agent:0")
        await converged(stack.cluster, stack.namespace, stack.compute_id, writer.ledger)
        await all_deployed(stack.admin, writer.ledger)
        assert standby.metric("lgcp_listener_kubernetes_writes_total") == 0
        # A change on its way to the leader when it freezes: it holds it, stale, while frozen.
        await writer.patch(first, "registry.test/agent:1")
        os.kill(leader.proc.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            await eventually(lambda: standby.metric("lgcp_listener_is_leader") == 1, 60, interval=0.1)
            takeover = time.monotonic() - frozen
            await writer.patch(first, "registry.test/agent:2")
            await writer.create("frozen-b", "registry.test/agent:0")
            to_cluster = await converged(stack.cluster, stack.namespace, stack.compute_id, writer.ledger)
            await all_deployed(stack.admin, writer.ledger)
            await asyncio.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - frozen)))
            before = await asyncio.to_thread(cluster_writes, stack.cluster, stack.namespace, stack.compute_id)
            statuses = await revision_statuses(stack.admin, writer.ledger)
            frozen_for = time.monotonic() - frozen
        finally:
            os.kill(leader.proc.pid, signal.SIGCONT)
        # It finds the lease another's and stops leading; it must not have written meanwhile.
        await eventually(lambda: "lost the lease" in leader.output(), 30, interval=0.1)
        stepped_down_at = time.monotonic()
        stepped_down = stepped_down_at - frozen - frozen_for
        # It then exits, so that Kubernetes restarts it as a standby: a shutdown that hangs on
        # one of its closes would leave a replica that never leads again (issue 14).
        exited = await exits_within(leader, 30)
        exited_after = time.monotonic() - stepped_down_at
        assert exited, f"the resumed replica did not exit within 30 s of losing the lease:\n{leader.output()[-4000:]}"
        # Anything it sent has landed by now.
        await asyncio.sleep(max(0.0, 2 * LEASE_SECONDS - (time.monotonic() - stepped_down_at)))
        after = await asyncio.to_thread(cluster_writes, stack.cluster, stack.namespace, stack.compute_id)
        assert after == before, "the resumed replica (or someone) wrote to the cluster"
        assert await revision_statuses(stack.admin, writer.ledger) == statuses, "the resumed replica reported"
        assert standby.proc.poll() is None and standby.metric("lgcp_listener_is_leader") == 1
        lease = stack.cluster.get_json("lease", stack.env["LGCP_LISTENER_LEASE_NAME"], "-n", stack.namespace)
        assert lease["spec"]["holderIdentity"] == "replica-1", lease["spec"]
        found_api = await check_api(stack.admin, writer.ledger)
        found_db = await check_database(plane.api_dsn, writer.ledger)
        record(
            "leader-frozen",
            lease_seconds=LEASE_SECONDS,
            frozen_seconds=round(frozen_for, 1),
            standby_leader_after_seconds=round(takeover, 2),
            acknowledged=writer.ledger.acknowledged,
            found_in_api=found_api,
            found_in_database=found_db,
            cluster_converged_after_writes_seconds=round(to_cluster, 2),
            objects_compared=len(before),
            written_by_resumed_replica=0,
            resumed_replica_stopped_leading_after_seconds=round(stepped_down, 2),
            resumed_replica_exited_after_stepping_down_seconds=round(exited_after, 1),
        )
    finally:
        await writer.aclose()


async def test_a_leader_whose_renewal_deadline_passed_while_frozen_writes_nothing(faults_cluster) -> None:
    """The cause of the case above, on its own: a process stopped past its renewal deadline
    resumes with work in hand and sends it before its lease task has run. Its writes (all but
    the Lease's own) must be refused until it has renewed: by the event loop's clock, which
    went on while the process was stopped."""
    from lgcp_listener.kube.client import Kube, LeadershipExpired, connect
    from lgcp_listener.kube.lease import LeaderElection

    namespace = make_namespace(faults_cluster, "lgcp-fence")
    kube = Kube(await connect(str(faults_cluster.kubeconfig)))
    election = LeaderElection(kube, namespace, "fence", "replica-0", duration=LEASE_SECONDS)
    campaign = asyncio.create_task(election.run())
    try:
        await asyncio.wait_for(election.is_leader.wait(), 10)
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fenced", "namespace": namespace}}
        await kube.apply({**secret, "metadata": {**secret["metadata"], "name": "while-leading"}})
        time.sleep(LEASE_SECONDS)  # noqa: ASYNC251  # on purpose: the whole loop stands still, as under SIGSTOP
        with pytest.raises(LeadershipExpired):
            await kube.apply(secret)
        assert await kube.get("Secret", namespace, "fenced") is None
    finally:
        campaign.cancel()
        await asyncio.gather(campaign, return_exceptions=True)
        await kube.close()
        faults_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
