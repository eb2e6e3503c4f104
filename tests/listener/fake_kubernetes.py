"""An in-memory stand-in for the small Kubernetes interface the reconcile step uses
(`lgcp_listener.reconcile.ports.KubernetesApi`), for unit tests of the step: objects are kept
as applied, every write is recorded, and a Deployment is rolled out the moment it is applied."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator

from kubernetes_asyncio.client.exceptions import ApiException
from lgcp_listener.objects import Manifest

Key = tuple[str, str | None, str]


class FakeKubernetes:
    """Objects by (kind, namespace, name); `writes` lists every ("apply" | "create" | "delete", kind, name)."""

    def __init__(self) -> None:
        self.objects: dict[Key, Manifest] = {}
        self.writes: list[tuple[str, str, str]] = []
        self._versions = itertools.count(1)

    def put(self, obj: Manifest) -> Manifest:
        """Stores `obj` as someone else (not a listener write) would have made it."""
        meta = obj["metadata"]
        stored = copy.deepcopy(obj)
        stored["metadata"].setdefault("uid", f"uid-{next(self._versions)}")
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        self.objects[(obj["kind"], meta.get("namespace"), meta["name"])] = stored
        return copy.deepcopy(stored)

    def names(self, kind: str | None = None) -> list[tuple[str, str]]:
        return sorted((k, name) for k, _, name in self.objects if kind is None or k == kind)

    async def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def apply(self, manifest: Manifest, *, force: bool = True) -> Manifest:
        meta = manifest["metadata"]
        self.writes.append(("apply", manifest["kind"], meta["name"]))
        key = (manifest["kind"], meta.get("namespace"), meta["name"])
        before = self.objects.get(key)
        stored = copy.deepcopy(manifest)
        stored["metadata"]["uid"] = before["metadata"]["uid"] if before else f"uid-{next(self._versions)}"
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        if "spec" in stored:
            generation = (before or {}).get("metadata", {}).get("generation", 0)
            stored["metadata"]["generation"] = generation + 1
        if stored["kind"] == "Deployment":  # its controller, at once
            replicas = stored["spec"].get("replicas", 1)
            stored["status"] = {
                "observedGeneration": stored["metadata"]["generation"],
                "replicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": replicas,
            }
        self.objects[key] = stored
        return copy.deepcopy(stored)

    async def create(self, manifest: Manifest) -> Manifest:
        meta = manifest["metadata"]
        if (manifest["kind"], meta.get("namespace"), meta["name"]) in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        self.writes.append(("create", manifest["kind"], meta["name"]))
        return self.put(manifest)

    async def delete(
        self, kind: str, namespace: str | None, name: str, *, propagation: str = "Background", uid: str | None = None
    ) -> bool:
        self.writes.append(("delete", kind, name))
        found = self.objects.get((kind, namespace, name))
        if found is None or (uid is not None and found["metadata"]["uid"] != uid):
            return False
        del self.objects[(kind, namespace, name)]
        return True

    async def list(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[Manifest], str]:
        items = [copy.deepcopy(obj) for (k, ns, _), obj in self.objects.items() if k == kind and ns == namespace]
        return items, str(next(self._versions))

    async def watch(
        self,
        kind: str,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[Manifest]:
        raise NotImplementedError("unit tests fill the cluster cache through the step's own writes")
        yield {}  # an async generator, as the real watch
