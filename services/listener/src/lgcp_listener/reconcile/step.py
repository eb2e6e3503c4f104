"""One reconcile pass over one deployment: from its desired state and the watched cluster to the
objects it needs (or their removal) and the status it reports.

Level-triggered: every pass starts from the latest desired state and the watched cluster state,
so a pass interrupted anywhere (crash, error) is completed by the next one. Objects whose
applied-hash already matches are not written; a pass over an unchanged deployment writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from lgcp_contract.desired_state import DesiredDeployment
from lgcp_contract.statuses import DeploymentStatus, RevisionStatus

from ..databases.mode import DatabaseMode, DatabaseModeError
from ..objects import Manifest, belongs_to, deployment_id
from ..render.agent import env_secret_name, render
from ..render.context import AgentConnections, Owner, RenderContext
from ..status.rollout import combine, derive
from .apply import Applier
from .cluster_cache import ClusterCache
from .preflight import Preflight
from .remove import Remover
from .result import DONE, Result
from .status_reporter import StatusReporter

ROLLOUT_STATUS = {
    "complete": RevisionStatus.DEPLOYED,
    "failed": RevisionStatus.DEPLOY_FAILED,
    "progressing": RevisionStatus.DEPLOYING,
}


class ReconcileStep:
    """The pass, given its collaborators (`controller.Controller` wires them)."""

    def __init__(
        self,
        cache: ClusterCache,
        mode: DatabaseMode,
        ctx: RenderContext,
        namespaces: list[str],
        applier: Applier,
        preflight: Preflight,
        remover: Remover,
        reporter: StatusReporter,
    ) -> None:
        self.cache, self.mode, self.ctx, self.namespaces = cache, mode, ctx, namespaces
        self.applier, self.preflight, self.remover, self.reporter = applier, preflight, remover, reporter
        self._connections: dict[str, AgentConnections] = {}  # what the mode handed each agent

    def knows(self, deployment: str) -> bool:
        return deployment in self._connections

    def forget(self, deployment: str) -> None:
        self._connections.pop(deployment, None)

    async def run(self, deployment: str, desired: DesiredDeployment | None) -> Result:
        """Brings one deployment to its desired state (or removes it) and reports its status."""
        if desired is None or desired.deleting:
            return await self.remover.remove(deployment, desired)
        if desired.revision is None:
            return DONE
        failed = RevisionStatus.DEPLOY_FAILED
        if desired.namespace not in self.namespaces:
            await self.reporter.revision(
                desired,
                failed,
                f"namespace {desired.namespace!r} is not watched by this listener "
                f"(watched: {', '.join(self.namespaces)})",
            )
            return DONE
        live = self.cache.get("Deployment", desired.namespace, desired.name)
        if live is not None and deployment_id(live) != desired.id:
            await self.reporter.revision(
                desired,
                failed,
                f"name {desired.name!r} is already used in namespace {desired.namespace!r} by another deployment",
            )
            return DONE
        if live is not None and live["metadata"].get("deletionTimestamp"):
            return Result.wait(f"waiting for the deletion of Deployment {desired.namespace}/{desired.name} to finish")
        taken = await self.preflight.names_taken_by_others(desired, first_creation=live is None)
        if taken:
            await self.reporter.revision(
                desired,
                failed,
                f"{', '.join(taken)} already exist in namespace {desired.namespace!r} and "
                "are not this deployment's: choose another name or remove them",
            )
            return DONE
        refused = await self.preflight.refused_references(desired)
        if refused:
            await self.reporter.revision(
                desired,
                failed,
                f"secret_references may not name {', '.join(refused)}: they hold the "
                "control plane's, the LangSmith host's TLS or another agent's credentials",
            )
            return DONE
        try:
            conn = await self._agent_connections(desired)
        except DatabaseModeError as exc:
            # Tell people why, and keep retrying: a number may be freed by a deletion, an ACL
            # turned off or allowed, an object fixed.
            await self.reporter.revision(desired, failed, str(exc))
            raise
        owner = _owner(live)
        objects = render(desired, conn, self.ctx, owner, database_objects=self.mode.objects(desired, conn, owner))
        # The Secret, then the Deployment, as soon as possible: that is what starts the rollout.
        # The Secret first, so that no pod ever starts without its environment.
        await self.applier.apply_if_changed(desired, objects[0])
        created = await self.applier.apply_if_changed(desired, objects[1])
        if owner is None and created is not None:
            # First creation: the rest (which names the Deployment as its owner) in a pass of its
            # own, queued behind the other new deployments, so that under a burst of creations
            # every rollout starts before any Service or status report is written.
            return Result(again_after=0)
        await _all(
            [
                *(self.applier.apply_if_changed(desired, obj) for obj in objects[2:]),
                self.reporter.preview(desired, objects),
            ]
        )
        await self.applier.delete_unwanted(desired, objects)
        await self._report_rollout(desired)
        return DONE

    async def _agent_connections(self, desired: DesiredDeployment) -> AgentConnections:
        conn = self._connections.get(desired.id)
        if conn is not None:
            return conn
        # Once per deployment and process: read back the stored credentials, provision if needed.
        secret = self.cache.get("Secret", desired.namespace, env_secret_name(desired.name))
        conn = await self.mode.connections(desired, secret if belongs_to(secret, desired.id) else None)
        if self.mode.needs_provisioning:
            # The Secret (holding the credentials) is written before the databases get them.
            await self.applier.apply_if_changed(desired, render(desired, conn, self.ctx)[0])
            waiting = (
                [self.reporter.deployment(desired, DeploymentStatus.AWAITING_DATABASE)]
                if desired.status != DeploymentStatus.READY
                else []
            )
            await _all([*waiting, self.mode.provision(desired, conn)])
        self._connections[desired.id] = conn
        return conn

    async def _report_rollout(self, desired: DesiredDeployment) -> None:
        """The revision's rollout, its databases' included; the deployment is READY once they are."""
        revision = desired.revision
        assert revision is not None
        namespace, pods = desired.namespace, self.cache.pods_of(desired.id)
        spec = desired.resource_spec
        app = derive(
            self.cache.get("Deployment", namespace, desired.name),
            pods,
            revision.id,
            spec.min_scale if spec.autoscaled else 0,
        )
        databases = self.mode.rollout(desired, lambda kind, name: self.cache.get(kind, namespace, name), pods)
        if databases.state == "complete" and desired.status != DeploymentStatus.READY:
            await self.reporter.deployment(desired, DeploymentStatus.READY)
        rollout = combine(app, databases)
        await self.reporter.revision(desired, ROLLOUT_STATUS[rollout.state], rollout.message)


async def _all(calls: list[Awaitable[object]]) -> None:
    """Runs `calls` at once and waits for every one; then raises the first failure, if any."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _owner(live: Manifest | None) -> Owner | None:
    if not live or not live.get("metadata", {}).get("uid"):
        return None
    return Owner(live["metadata"]["name"], live["metadata"]["uid"])
