"""Writes an object only when it changed: server-side apply, skipped when the live object carries
the same applied-hash and is still what our last write left (anyone else's change is drift)."""

from __future__ import annotations

from lgcp_contract.desired_state import DesiredDeployment

from ..objects import Manifest
from ..render.agent import OPTIONAL_KINDS
from ..render.hashing import applied_hash
from .cluster_cache import ClusterCache
from .ports import KubernetesApi


def _version(obj: Manifest | None) -> str | None:
    """Changes whenever anyone changes the object's spec: its generation, else its resourceVersion
    (Services have no generation)."""
    if obj is None:
        return None
    meta = obj.get("metadata", {})
    return f"g{meta['generation']}" if "generation" in meta else f"rv{meta.get('resourceVersion')}"


class Applier:
    """Applies a deployment's objects, remembering what each of our writes left."""

    def __init__(self, kube: KubernetesApi, cache: ClusterCache) -> None:
        self.kube, self.cache = kube, cache
        # deployment id -> (kind, name) -> the version our last write left.
        self._written: dict[str, dict[tuple[str, str], str | None]] = {}

    async def apply_if_changed(self, desired: DesiredDeployment, obj: Manifest) -> Manifest | None:
        """Applies `obj` unless the live one is what we last applied; the result, or None when skipped."""
        kind, name = obj["kind"], obj["metadata"]["name"]
        informer = self.cache.informer(kind, desired.namespace)
        live = informer.get(name)
        written = self._written.setdefault(desired.id, {})
        if applied_hash(live) == applied_hash(obj) and written.get((kind, name), _version(live)) == _version(live):
            return None
        result = await self.kube.apply(obj)
        informer.remember(result)
        written[(kind, name)] = _version(result)
        return result

    async def delete_unwanted(self, desired: DesiredDeployment, objects: list[Manifest]) -> None:
        """Deletes the HPA or PDB a former revision had and `objects` (this one's) have not."""
        wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
        for kind in OPTIONAL_KINDS:
            if self.cache.get(kind, desired.namespace, desired.name) and (kind, desired.name) not in wanted:
                await self.kube.delete(kind, desired.namespace, desired.name)
                self.cache.informer(kind, desired.namespace).forget(desired.name)

    def knows(self, deployment: str) -> bool:
        """Whether anything is remembered about `deployment`."""
        return deployment in self._written

    def forget(self, deployment: str) -> None:
        self._written.pop(deployment, None)
