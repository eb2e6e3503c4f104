"""The checks before a deployment's objects are written: names held by objects that are not
its own, and secret references to Secrets an agent must not read."""

from __future__ import annotations

import asyncio

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ..databases.mode import DatabaseMode
from ..objects import held_by_another, labels
from ..render.agent import owned_names
from ..render.context import RenderContext
from .cluster_cache import ClusterCache
from .ports import KubernetesApi

PART_OF = "app.kubernetes.io/part-of"
CONTROL_PLANE = "langgraph-controlplane"  # the chart labels its own Secrets so


class Preflight:
    """Looks names and references up once, before they are used."""

    def __init__(self, kube: KubernetesApi, cache: ClusterCache, mode: DatabaseMode, ctx: RenderContext) -> None:
        self.kube, self.cache, self.mode, self.ctx = kube, cache, mode, ctx
        self._references_passed: dict[str, str] = {}  # deployment id -> revision id whose references passed

    async def names_taken_by_others(self, desired: DesiredDeployment, first_creation: bool) -> list[str]:
        """`Kind/name` of objects holding this deployment's names that are not labelled as its own.

        The informers see only our labelled objects, and a forced apply would take over anything
        else of the same name (and the garbage collector would later delete what then names our
        Deployment as its owner). So before an object is first made, its name is looked up: on
        first creation every name it will use; afterwards only those of watched kinds that it
        does not have yet (an HPA a new revision adds, an object someone deleted), so a pass over
        a settled deployment reads nothing.
        """
        names = owned_names(desired, self.ctx.route.kind) + self.mode.owned_names(desired.name)
        if not first_creation:
            names = [
                (kind, name)
                for kind, name in names
                if self.cache.watches(desired.namespace, kind) and self.cache.get(kind, desired.namespace, name) is None
            ]
        if not names:
            return []
        found = await asyncio.gather(*(self.kube.get(kind, desired.namespace, name) for kind, name in names))
        return [
            f"{kind}/{name}"
            for (kind, name), existing in zip(names, found, strict=True)
            if held_by_another(existing, desired.id)
        ]

    async def refused_references(self, desired: DesiredDeployment) -> list[str]:
        """Referenced Secrets an agent must not read: the chart's own (API keys, encryption keys,
        database passwords), other agents' environments and the LangSmith host's TLS Secret (its
        private key sits in the agents' namespace for their routes). Looked up once per revision."""
        revision_id = desired.revision.id if desired.revision else ""
        if self._references_passed.get(desired.id) == revision_id:
            return []
        names = sorted({ref.secret_name for ref in desired.secret_references})
        found = await asyncio.gather(*(self.kube.get("Secret", desired.namespace, name) for name in names))
        refused = []
        for secret_name, secret in zip(names, found, strict=True):
            secret_labels = labels(secret)
            if (
                secret_labels.get(PART_OF) == CONTROL_PLANE
                or secret_labels.get(L.DEPLOYMENT_ID, desired.id) != desired.id
                or secret_name == self.ctx.route.tls_secret_name
            ):
                refused.append(f"Secret/{secret_name}")
        if not refused:
            self._references_passed[desired.id] = revision_id
        return refused

    def knows(self, deployment: str) -> bool:
        return deployment in self._references_passed

    def forget(self, deployment: str) -> None:
        self._references_passed.pop(deployment, None)
