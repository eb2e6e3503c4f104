"""Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

The holder renews every `duration/3`; a candidate takes the lease over only when it has not been
renewed for `duration`. Every write is a PUT with the resourceVersion read, so two candidates
cannot both win a round (the loser gets 409). The lease gives no fencing: the leader stops
working as soon as a renewal fails, and correctness rests on idempotent reconciles.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from kubernetes_asyncio.client.exceptions import ApiException

from .kube import Kube

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


class LeaderElection:
    """Campaigns for a Lease; `is_leader` is set while held, `lost` once held and then lost."""

    def __init__(self, kube: Kube, namespace: str, name: str, identity: str, duration: float = 15) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.duration = duration
        self.is_leader = asyncio.Event()
        self.lost = asyncio.Event()

    async def try_acquire_or_renew(self) -> bool:
        """One round: True when this identity holds the lease afterwards."""
        now = _now()
        lease = await self.kube.get("Lease", self.namespace, self.name)
        spec_new = {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.duration),
                    "renewTime": _format(now)}
        if lease is None:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": {**spec_new, "acquireTime": _format(now), "leaseTransitions": 0}}
            try:
                await self.kube.create(body)
                return True
            except ApiException as exc:
                if exc.status == 409:
                    return False
                raise
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
        expired = renewed is None or now - renewed > timedelta(seconds=spec.get("leaseDurationSeconds") or self.duration)
        if holder and holder != self.identity and not expired:
            return False
        if holder != self.identity:
            spec_new["acquireTime"] = _format(now)
            spec_new["leaseTransitions"] = (spec.get("leaseTransitions") or 0) + 1
        lease["spec"] = {**spec, **spec_new}
        try:
            await self.kube.replace(lease)
            return True
        except ApiException as exc:
            if exc.status == 409:  # someone else wrote it first this round
                return False
            raise

    async def run(self) -> None:
        """Campaigns until elected, then renews; sets `lost` and returns if a renewal fails."""
        period = self.duration / 3
        while True:
            try:
                held = await self.try_acquire_or_renew()
            except Exception as exc:  # noqa: BLE001 - an unreachable API server is a failed round
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                held = False
            if held and not self.is_leader.is_set():
                log.info("became leader (lease %s/%s) as %s", self.namespace, self.name, self.identity)
                self.is_leader.set()
            elif not held and self.is_leader.is_set():
                log.error("lost the lease %s/%s", self.namespace, self.name)
                self.lost.set()
                return
            await asyncio.sleep(period)

    async def release(self) -> None:
        """Gives the lease up on a clean shutdown so a standby takes over at once."""
        if not self.is_leader.is_set() or self.lost.is_set():
            return
        lease = await self.kube.get("Lease", self.namespace, self.name)
        if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
            lease["spec"]["renewTime"] = _format(_now() - timedelta(seconds=self.duration + 1))
            lease["spec"]["holderIdentity"] = ""
            try:
                await self.kube.replace(lease)
            except ApiException as exc:
                log.info("lease release failed: %s", exc.status)
