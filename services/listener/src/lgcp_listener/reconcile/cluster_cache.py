"""What the listener knows of the cluster: one informer per watched kind and namespace, and
which Deployment and pods belong to which deployment (from their deployment-id label)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable

from ..kube.informer import Informer, ListWatch
from ..objects import Manifest, deployment_id
from ..render.agent import ENV_SECRET_SUFFIX


class ClusterCache:
    """Informers of `kinds` in `namespaces` (objects matching `selector`); every change of an
    object of a deployment calls `on_change(deployment_id)`."""

    def __init__(
        self,
        kube: ListWatch,
        kinds: Iterable[str],
        namespaces: list[str],
        selector: str,
        on_change: Callable[[str], None],
    ) -> None:
        self.kinds = tuple(kinds)
        self._on_change = on_change
        self.informers = {
            (kind, ns): Informer(kube, kind, ns, selector, self._changed) for kind in self.kinds for ns in namespaces
        }
        self.located: dict[str, tuple[str, str]] = {}  # deployment id -> (namespace, name) of its Deployment
        # deployment id -> (namespace, agent name) of its env Secret, which outlives the
        # Deployment during a removal (the Deployment goes first).
        self.env_located: dict[str, tuple[str, str]] = {}
        self.pods: dict[str, dict[str, Manifest]] = defaultdict(dict)  # deployment id -> pod name -> pod

    def _changed(self, kind: str, event: str, obj: Manifest) -> None:
        meta = obj.get("metadata", {})
        owner = deployment_id(obj)
        if not owner:
            return
        if kind == "Pod":
            if event == "DELETED":
                self.pods[owner].pop(meta["name"], None)
            else:
                self.pods[owner][meta["name"]] = obj
        elif kind == "Deployment":
            if event == "DELETED":
                self.located.pop(owner, None)
            else:
                self.located[owner] = (meta["namespace"], meta["name"])
        elif kind == "Secret" and meta["name"].endswith(ENV_SECRET_SUFFIX):
            if event == "DELETED":
                self.env_located.pop(owner, None)
            else:
                self.env_located[owner] = (meta["namespace"], meta["name"].removesuffix(ENV_SECRET_SUFFIX))
        self._on_change(owner)

    def location(self, deployment: str) -> tuple[str, str] | None:
        """(namespace, agent name) of a deployment's objects: from its Deployment, else from its
        env Secret (left after the Deployment during a removal)."""
        return self.located.get(deployment) or self.env_located.get(deployment)

    def watches(self, namespace: str, kind: str) -> bool:
        """Whether objects of `kind` in `namespace` are watched."""
        return (kind, namespace) in self.informers

    def informer(self, kind: str, namespace: str) -> Informer:
        """The cache of one kind in one namespace."""
        return self.informers[(kind, namespace)]

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        """The watched object, or None."""
        return self.informer(kind, namespace).get(name)

    def pods_of(self, deployment: str) -> list[Manifest]:
        """The watched pods of one deployment (its agent's and its databases')."""
        return list(self.pods.get(deployment, {}).values())

    def pod_names(self, deployment: str) -> list[str]:
        return list(self.pods.get(deployment, {}))

    def forget(self, deployment: str) -> None:
        """Drops what is kept about a removed deployment's pods."""
        self.pods.pop(deployment, None)

    async def wait_synced(self) -> None:
        """Returns once every informer has listed its objects."""
        await asyncio.gather(*(inf.synced.wait() for inf in self.informers.values()))
