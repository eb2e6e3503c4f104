"""Lease-based leader election against the local cluster's API server."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from harness.cluster import LocalCluster
from lgcp_listener.kube.client import Kube
from lgcp_listener.kube.lease import LeaderElection
from listener_support import eventually

pytestmark = pytest.mark.cluster


async def test_only_one_candidate_leads_and_a_standby_takes_over_when_it_dies(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a = LeaderElection(kube, namespace, lease, "replica-a", duration=2)
    b = LeaderElection(kube, namespace, lease, "replica-b", duration=2)
    task_a = asyncio.create_task(a.run())
    await eventually(a.is_leader.is_set, 10)
    task_b = asyncio.create_task(b.run())
    try:
        await asyncio.sleep(3)  # longer than the lease: a keeps renewing, b stays a standby
        assert not b.is_leader.is_set()
        holder = local_cluster.get_json("lease", lease, "-n", namespace)["spec"]["holderIdentity"]
        assert holder == "replica-a"
        task_a.cancel()  # the leader dies without releasing
        await eventually(b.is_leader.is_set, 10)
        spec = local_cluster.get_json("lease", lease, "-n", namespace)["spec"]
        assert spec["holderIdentity"] == "replica-b" and spec["leaseTransitions"] == 1
    finally:
        task_a.cancel()
        task_b.cancel()
        await asyncio.gather(task_a, task_b, return_exceptions=True)


async def test_concurrent_rounds_elect_exactly_one(namespace: str, kube: Kube) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    candidates = [LeaderElection(kube, namespace, lease, f"replica-{i}", duration=10) for i in range(5)]
    results = await asyncio.gather(*(c.try_acquire_or_renew() for c in candidates))
    assert results.count(True) == 1


async def test_leader_that_cannot_renew_steps_down(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a = LeaderElection(kube, namespace, lease, "replica-a", duration=1.5)
    task = asyncio.create_task(a.run())
    try:
        await eventually(a.is_leader.is_set, 10)
        # Another holder takes the lease over (as after a long pause of this replica).
        local_cluster.kubectl(
            "patch",
            "lease",
            lease,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"spec":{"holderIdentity":"intruder","leaseDurationSeconds":600}}',
        )
        await eventually(a.lost.is_set, 10)
        assert task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_release_hands_over_at_once(namespace: str, kube: Kube) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a = LeaderElection(kube, namespace, lease, "replica-a", duration=30)
    b = LeaderElection(kube, namespace, lease, "replica-b", duration=30)
    assert await a.try_acquire_or_renew()
    a.is_leader.set()
    assert not await b.try_acquire_or_renew()
    await a.release()
    assert await b.try_acquire_or_renew()


async def test_expiry_is_judged_by_the_candidates_own_clock(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    """A holder whose clock runs an hour ahead wrote a renewTime in the future and then died: the
    lease is still taken over once its record has not changed for its duration."""
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    local_cluster.apply(
        json.dumps(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": lease},
                "spec": {
                    "holderIdentity": "skewed",
                    "leaseDurationSeconds": 2,
                    "renewTime": future,
                    "acquireTime": future,
                },
            }
        ),
        "-n",
        namespace,
    )
    candidate = LeaderElection(kube, namespace, lease, "replica-b", duration=2)
    assert not await candidate.try_acquire_or_renew()  # just seen: not yet expired
    task = asyncio.create_task(candidate.run())
    try:
        await eventually(candidate.is_leader.is_set, 10)
        assert local_cluster.get_json("lease", lease, "-n", namespace)["spec"]["holderIdentity"] == "replica-b"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
