"""A list-then-watch cache of the objects of one kind this listener owns in one namespace.

Relists on 410 Gone and whenever a watch breaks (kopf's and client-go's rule): the cache is
always a recent view of the cluster, and every change is handed to a callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from ..objects import Manifest
from .client import Gone

log = logging.getLogger(__name__)


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
        self.synced = asyncio.Event()

    def get(self, name: str) -> Manifest | None:
        """The cached object of that name, or None."""
        return self.objects.get(name)

    def remember(self, obj: Manifest) -> None:
        """Records the result of our own write at once, ahead of its watch event."""
        name = obj["metadata"]["name"]
        current = self.objects.get(name)
        if current is None or int(obj["metadata"].get("resourceVersion", 0)) >= int(
            current["metadata"].get("resourceVersion", 0)
        ):
            self.objects[name] = _slim(self.kind, obj)

    def forget(self, name: str) -> None:
        """Drops an object we deleted, ahead of its watch event."""
        self.objects.pop(name, None)

    async def run(self) -> None:
        """Lists, then watches; forever. Errors back off and relist."""
        delay = 0.5
        while True:
            try:
                items, version = await self.kube.list(self.kind, self.namespace, label_selector=self.selector)
                fresh = {item["metadata"]["name"]: _slim(self.kind, item) for item in items}
                vanished = [obj for name, obj in self.objects.items() if name not in fresh]
                self.objects = fresh
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
                            self.objects.pop(obj["metadata"]["name"], None)
                        else:
                            self.remember(obj)
                        self.on_change(self.kind, event["type"], obj)
            except Gone:
                log.info("watch of %s in %s expired; relisting", self.kind, self.namespace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch of %s in %s failed (%s); relisting in %.1fs", self.kind, self.namespace, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
