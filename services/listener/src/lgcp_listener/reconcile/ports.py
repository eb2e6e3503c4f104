"""The small interfaces reconciliation uses: the Kubernetes calls (`kube.client.Kube`, or an
in-memory fake in unit tests) and the control plane's report endpoints (`control_plane.client`)."""

from __future__ import annotations

from typing import Any, Protocol

from ..kube.informer import ListWatch
from ..objects import Manifest


class KubernetesApi(ListWatch, Protocol):
    """What reconciliation asks of Kubernetes (objects are plain dicts): the informers' list and
    watch, and these."""

    async def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None: ...

    async def apply(self, manifest: Manifest, *, force: bool = True) -> Manifest: ...

    async def create(self, manifest: Manifest) -> Manifest: ...

    async def delete(
        self, kind: str, namespace: str | None, name: str, *, propagation: str = "Background", uid: str | None = None
    ) -> bool: ...


class ControlPlaneReports(Protocol):
    """What reconciliation tells the control plane."""

    async def revision_status(
        self, revision_id: str, status: str, message: str | None, events: list[dict[str, Any]] | None = None
    ) -> None: ...

    async def deployment_status(self, deployment_id: str, status: str, message: str | None = None) -> None: ...

    async def manifests(self, deployment_id: str, revision_id: str, manifests: list[Manifest]) -> None: ...

    async def deleted(self, deployment_id: str) -> None: ...
