"""A list-then-watch cache of the objects of one kind this listener owns in one namespace.

Relists on 410 Gone and whenever a watch breaks (kopf's and client-go's rule): the cache is
always a recent view of the cluster, and every change is handed to a callback.

resourceVersion is opaque (Kubernetes API conventions): two are never compared as numbers, only
for equality. The list and the watch deliver an object's versions in order; our own write's
answer is recorded ahead of its event unless the watch has already delivered that version (then
what the cache holds is that write or something after it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from ..objects import Manifest
from .client import Gone

log = logging.getLogger(__name__)

# Versions of one object remembered as delivered: a write's answer is recorded right after the
# write, while the watch delivers at most a few events of that object.
DELIVERED_VERSIONS = 8


def _slim(kind: str, obj: Manifest) -> Manifest:
    """Drops what the listener never reads, so memory stays flat at 1000s of agents: managedFields
    everywhere, a Pod's spec (only its labels and container statuses are read) and a Deployment's
    pod template (its applied-hash annotation says whether it is what we applied)."""
    obj.get("metadata", {}).pop("managedFields", None)
    if kind == "Pod":
        obj.pop("spec", None)
    elif kind == "Deployment":
        (obj.get("spec") or {}).pop("template", None)
    return obj


class ListWatch(Protocol):
    """The two calls an informer makes (`client.Kube` has them)."""

    async def list(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[Manifest], str]: ...

    def watch(
        self,
        kind: str,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[Manifest]: ...


class Informer:
    """Objects of `kind` in `namespace` matching `label_selector`, kept current by a watch."""

    def __init__(
        self,
        kube: ListWatch,
        kind: str,
        namespace: str,
        label_selector: str,
        on_change: Callable[[str, str, Manifest], None],
    ) -> None:
        self.kube, self.kind, self.namespace, self.selector = kube, kind, namespace, label_selector
        self.on_change = on_change
        self.objects: dict[str, Manifest] = {}
        self._delivered: dict[str, deque[str]] = {}  # the latest versions the list/watch delivered
        self.synced = asyncio.Event()

    def get(self, name: str) -> Manifest | None:
        """The cached object of that name, or None."""
        return self.objects.get(name)

    def remember(self, obj: Manifest) -> None:
        """Records the result of our own write at once, ahead of its watch event; not when the
        watch has delivered that version already (what the cache holds is as new or newer)."""
        name = obj["metadata"]["name"]
        version = obj["metadata"].get("resourceVersion")
        if version is None or version not in self._delivered.get(name, ()):
            self.objects[name] = _slim(self.kind, obj)

    def forget(self, name: str) -> None:
        """Drops an object we deleted, ahead of its watch event."""
        self.objects.pop(name, None)
        self._delivered.pop(name, None)

    def _deliver(self, obj: Manifest) -> None:
        """An object as the list or the watch delivered it: the newest state, in order."""
        name = obj["metadata"]["name"]
        self.objects[name] = _slim(self.kind, obj)
        versions = self._delivered.get(name)
        if versions is None:
            versions = self._delivered[name] = deque(maxlen=DELIVERED_VERSIONS)
        versions.append(obj["metadata"].get("resourceVersion", ""))

    async def run(self) -> None:
        """Lists, then watches; forever. Errors back off and relist."""
        delay = 0.5
        while True:
            try:
                items, version = await self.kube.list(self.kind, self.namespace, label_selector=self.selector)
                fresh = {item["metadata"]["name"]: item for item in items}
                vanished = [obj for name, obj in self.objects.items() if name not in fresh]
                self.objects, self._delivered = {}, {}
                for item in items:
                    self._deliver(item)
                for obj in vanished:
                    self.on_change(self.kind, "DELETED", obj)
                for obj in fresh.values():
                    self.on_change(self.kind, "LISTED", obj)
                self.synced.set()
                delay = 0.5
                while True:
                    async for event in self.kube.watch(
                        self.kind, self.namespace, version, label_selector=self.selector
                    ):
                        obj = event["object"]
                        version = obj["metadata"]["resourceVersion"]
                        if event["type"] == "BOOKMARK":
                            continue
                        if event["type"] == "DELETED":
                            self.forget(obj["metadata"]["name"])
                        else:
                            self._deliver(obj)
                        self.on_change(self.kind, event["type"], obj)
            except Gone:
                log.info("watch of %s in %s expired; relisting", self.kind, self.namespace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch of %s in %s failed (%s); relisting in %.1fs", self.kind, self.namespace, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
