"""Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

The holder renews every `duration/3`; a candidate takes the lease over only when it has seen
the lease record unchanged for `duration` by its own monotonic clock (never by comparing the
holder's renewTime with its own clock: clocks of two machines differ). Every write is a PUT with
the resourceVersion read, so two candidates cannot both win a round (the loser gets 409). The
leader retries a failed renewal until `2/3 duration` after its last success and then stops
working, before any candidate may take over; correctness rests on idempotent reconciles.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from kubernetes_asyncio.client.exceptions import ApiException

from ..objects import Manifest
from .client import Kube

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElection:
    """Campaigns for a Lease; `is_leader` is set while held, `lost` once held and then lost."""

    def __init__(self, kube: Kube, namespace: str, name: str, identity: str, duration: float = 15) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.duration = duration
        self.is_leader = asyncio.Event()
        self.lost = asyncio.Event()
        self._observed: tuple[object, ...] | None = None  # the lease record last seen ...
        self._observed_at = 0.0  # ... and when it was first seen so, on the event loop's clock
        self.other_holder = False  # the last round found the lease held by someone else
        self._renewed_at = 0.0  # the last successful round, on the event loop's clock
        kube.fence = self.holds  # the client's writes need the lease (Kube.fence)

    def _observe(self, spec: Manifest) -> float:
        """Records the lease record; answers for how long (seconds) it has been seen unchanged."""
        now = asyncio.get_running_loop().time()
        record = tuple(spec.get(key) for key in ("holderIdentity", "renewTime", "acquireTime", "leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, now
        return now - self._observed_at

    async def try_acquire_or_renew(self) -> bool:
        """One round: True when this identity holds the lease afterwards."""
        now = _now()
        self.other_holder = False
        lease = await self.kube.get("Lease", self.namespace, self.name)
        spec_new = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.duration),
            "renewTime": _format(now),
        }
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {**spec_new, "acquireTime": _format(now), "leaseTransitions": 0},
            }
            try:
                created = await self.kube.create(body)
                self._observe(created.get("spec") or {})
                return True
            except ApiException as exc:
                if exc.status == 409:
                    return False
                raise
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        unchanged_for = self._observe(spec)
        if holder and holder != self.identity and unchanged_for <= (spec.get("leaseDurationSeconds") or self.duration):
            self.other_holder = True
            return False
        if holder != self.identity:
            spec_new["acquireTime"] = _format(now)
            spec_new["leaseTransitions"] = (spec.get("leaseTransitions") or 0) + 1
        lease["spec"] = {**spec, **spec_new}
        try:
            written = await self.kube.replace(lease)
            self._observe(written.get("spec") or {})
            return True
        except ApiException as exc:
            if exc.status == 409:  # someone else wrote it first this round
                return False
            raise

    def holds(self) -> bool:
        """Whether this replica may write now: elected, and renewed within the deadline by the
        event loop's monotonic clock, which runs on while the process is stopped."""
        deadline = self.duration * 2 / 3
        alive = asyncio.get_running_loop().time() - self._renewed_at < deadline
        return self.is_leader.is_set() and not self.lost.is_set() and alive

    async def run(self) -> None:
        """Campaigns until elected, then renews; sets `lost` and returns when another holder has
        the lease or no renewal succeeded for 2/3 of the duration."""
        loop = asyncio.get_running_loop()
        period, renew_deadline = self.duration / 3, self.duration * 2 / 3
        while True:
            try:
                held = await self.try_acquire_or_renew()
            except Exception as exc:
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                held = False
            if held:
                self._renewed_at = loop.time()
                if not self.is_leader.is_set():
                    log.info("became leader (lease %s/%s) as %s", self.namespace, self.name, self.identity)
                    self.is_leader.set()
            elif self.is_leader.is_set():
                if self.other_holder or loop.time() - self._renewed_at >= renew_deadline:
                    log.error("lost the lease %s/%s", self.namespace, self.name)
                    self.lost.set()
                    return
                await asyncio.sleep(min(period, 1.0) / 2)  # retry soon, within the deadline
                continue
            await asyncio.sleep(period)

    async def release(self) -> None:
        """Gives the lease up on a clean shutdown so a standby takes over at once."""
        if not self.is_leader.is_set() or self.lost.is_set():
            return
        lease = await self.kube.get("Lease", self.namespace, self.name)
        if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
            lease["spec"]["holderIdentity"] = ""  # an empty holder: any candidate takes it at once
            try:
                await self.kube.replace(lease)
            except ApiException as exc:
                log.info("lease release failed: %s", exc.status)
