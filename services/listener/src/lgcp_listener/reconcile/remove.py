"""Removal of a deployment the API deleted, or that the desired state no longer names (an orphan)."""

from __future__ import annotations

import logging

from lgcp_contract.desired_state import DesiredDeployment

from ..configuration import Retention
from ..databases.mode import DatabaseMode
from ..objects import belongs_to
from ..render.agent import env_secret_name
from .cluster_cache import ClusterCache
from .ports import KubernetesApi
from .result import REMOVED, Result
from .status_reporter import StatusReporter

log = logging.getLogger(__name__)


class Remover:
    """Deletes a deployment's Deployment (its children go with it) and env Secret; drops its data
    only on a deletion the API asked for, with retention `delete`."""

    def __init__(
        self,
        kube: KubernetesApi,
        cache: ClusterCache,
        mode: DatabaseMode,
        reporter: StatusReporter,
        namespaces: list[str],
        retention: Retention,
    ) -> None:
        self.kube, self.cache, self.mode, self.reporter = kube, cache, mode, reporter
        self.namespaces, self.retention = namespaces, retention

    async def remove(self, deployment_id: str, desired: DesiredDeployment | None) -> Result:
        """One removal pass: waits (`Result.wait`) until the Deployment is gone, then `REMOVED`."""
        location = self.cache.location(deployment_id)
        if desired is not None:
            location = location or (desired.namespace, desired.name)
        if location is not None:
            namespace, name = location
            if namespace in self.namespaces:
                live = await self.kube.get("Deployment", namespace, name)
                if belongs_to(live, deployment_id):
                    assert live is not None
                    if live["metadata"].get("deletionTimestamp") is None:
                        # Foreground: the Deployment goes only after the children it owns.
                        await self.kube.delete(
                            "Deployment", namespace, name, propagation="Foreground", uid=live["metadata"]["uid"]
                        )
                    return Result.wait(f"waiting for Deployment {namespace}/{name} to be deleted")
                secret = await self.kube.get("Secret", namespace, env_secret_name(name))
                if secret is not None and belongs_to(secret, deployment_id):
                    await self.kube.delete("Secret", namespace, env_secret_name(name), uid=secret["metadata"]["uid"])
        # Only a deletion the API asked for drops data. An orphan (a deployment the desired state
        # no longer names: a changed key, tenant or registration) loses its objects but keeps its
        # database, so a misconfiguration can never destroy every agent's data.
        if self.retention == "delete" and desired is not None and desired.deleting:
            await self.mode.release(desired)
        elif desired is None and location is not None:
            log.warning("deployment %s is not in the desired state: objects removed, database kept", deployment_id)
        if desired is not None:
            await self.reporter.deleted(deployment_id)
        return REMOVED
