"""The controller: holds the desired state, queues deployments when it or the cluster changes,
and runs the workers that pass each through the reconcile step."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from lgcp_contract.desired_state import DesiredDeployment
from lgcp_contract.labels import owned_selector

from ..configuration import Retention
from ..databases.mode import DatabaseMode
from ..kube.workqueue import WorkQueue
from ..observability import metrics
from ..render.agent import OPTIONAL_KINDS
from ..render.context import RenderContext
from .apply import Applier
from .cluster_cache import ClusterCache
from .ports import ControlPlaneReports, KubernetesApi
from .preflight import Preflight
from .remove import Remover
from .result import Result
from .status_reporter import StatusReporter, error_kind
from .step import ReconcileStep


class _Memo(Protocol):
    def knows(self, deployment: str) -> bool: ...

    def forget(self, deployment: str) -> None: ...


log = logging.getLogger(__name__)


def watched_kinds(ctx: RenderContext, mode: DatabaseMode) -> tuple[str, ...]:
    """Every kind the listener makes or reads for its agents."""
    return ("Deployment", "Secret", "Service", ctx.route.kind, *OPTIONAL_KINDS, "Pod", *mode.kinds)


class Controller:
    """The desired state, the cluster cache, the work queue and its workers."""

    def __init__(
        self,
        kube: KubernetesApi,
        control_plane: ControlPlaneReports,
        mode: DatabaseMode,
        ctx: RenderContext,
        namespaces: list[str],
        retention: Retention = "delete",
        workers: int = 8,
    ) -> None:
        self.ctx, self.mode, self.namespaces, self.workers = ctx, mode, namespaces, workers
        self.queue: WorkQueue[None] = WorkQueue()
        self.desired: dict[str, DesiredDeployment] = {}
        # Until the first desired state arrives, nothing may be judged an orphan: a restart would
        # otherwise delete everything its watches list before the API has answered.
        self.loaded = False
        self.cache = ClusterCache(
            kube, watched_kinds(ctx, mode), namespaces, owned_selector(ctx.compute_id), self.enqueue
        )
        self.reporter = StatusReporter(kube, control_plane, self.cache)
        self.applier = Applier(kube, self.cache)
        self.preflight = Preflight(kube, self.cache, mode, ctx)
        remover = Remover(kube, self.cache, mode, self.reporter, namespaces, retention)
        self.step = ReconcileStep(
            self.cache, mode, ctx, namespaces, self.applier, self.preflight, remover, self.reporter
        )

    def enqueue(self, deployment_id: str, urgent: bool = False) -> None:
        """Queues a deployment for a pass (at most once; see kube/workqueue.py). Urgent: its desired
        state changed (a new deployment, revision or deletion), which goes before status work."""
        self.queue.put(deployment_id, None, urgent=urgent)
        metrics.QUEUE_DEPTH.set(len(self.queue))

    async def wait_synced(self) -> None:
        """Returns once every cache has listed its objects."""
        await self.cache.wait_synced()

    # --- desired state ------------------------------------------------------------------------

    def set_desired(self, deployments: list[DesiredDeployment]) -> None:
        """Replaces the desired state and queues every deployment it names or no longer names."""
        previous, self.desired = self.desired, {d.id: d for d in deployments}
        self.loaded = True
        for deployment_id in set(self.desired) | set(self.cache.located) | set(self.cache.env_located):
            self.enqueue(deployment_id, _changed(previous.get(deployment_id), self.desired.get(deployment_id)))

    def update_desired(self, deployment_ids: list[str], deployments: list[DesiredDeployment]) -> None:
        """Replaces the desired state of `deployment_ids` only (one missing from `deployments` no
        longer exists) and queues them."""
        answered = {d.id: d for d in deployments}
        for deployment_id in deployment_ids:
            previous = self.desired.get(deployment_id)
            if deployment_id in answered:
                self.desired[deployment_id] = answered[deployment_id]
            else:
                self.desired.pop(deployment_id, None)
            self.enqueue(deployment_id, _changed(previous, self.desired.get(deployment_id)))

    # --- workers --------------------------------------------------------------------------------

    async def run_workers(self) -> None:
        """Runs the workers until cancelled."""
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    async def _worker(self) -> None:
        while True:
            deployment_id, _ = await self.queue.get()
            metrics.QUEUE_DEPTH.set(len(self.queue))
            started = time.perf_counter()
            result, failed = Result(), False
            try:
                result = await self.reconcile(deployment_id)
                if result.reason:
                    log.debug("deployment %s: %s", deployment_id, result.reason)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed = True
                metrics.ERRORS.labels(kind=error_kind(exc)).inc()
                log.warning("reconcile of deployment %s failed: %s", deployment_id, exc)
            finally:
                metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
                self.queue.done(deployment_id, failed=failed or result.backoff, again_after=result.again_after)
                metrics.QUEUE_DEPTH.set(len(self.queue))

    async def reconcile(self, deployment_id: str) -> Result:
        """One pass over one deployment; once it is removed, everything kept about it is dropped."""
        if not self.loaded:
            return Result()  # set_desired queues every known deployment again
        desired = self.desired.get(deployment_id)
        result = await self.step.run(deployment_id, desired)
        if result.gone:
            self.forget(deployment_id)
            if desired is not None and self.desired.get(deployment_id) is desired:
                del self.desired[deployment_id]
        return result

    def forget(self, deployment_id: str) -> None:
        """Drops every memo of a deployment that is gone, its queue entry included."""
        for part in (self.step, self.applier, self.preflight, self.reporter, self.cache):
            part.forget(deployment_id)
        self.queue.forget(deployment_id)

    def remembers(self, deployment_id: str) -> list[str]:
        """Which parts still keep something of `deployment_id` (none, once it is gone)."""
        parts: dict[str, _Memo] = {
            "step": self.step,
            "applier": self.applier,
            "preflight": self.preflight,
            "reporter": self.reporter,
        }
        held = [name for name, part in parts.items() if part.knows(deployment_id)]
        if deployment_id in self.cache.pods:
            held.append("cache")
        return held


def _changed(before: DesiredDeployment | None, after: DesiredDeployment | None) -> bool:
    """Whether someone asked for something new: a deployment, revision or deletion."""
    if before is None or after is None:
        return before is not after
    return (before.revision.id if before.revision else None) != (
        after.revision.id if after.revision else None
    ) or before.deleting != after.deleting
