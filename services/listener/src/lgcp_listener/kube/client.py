"""A small Kubernetes client for the kinds the listener touches, on kubernetes-asyncio's ApiClient.

Objects are plain dicts (no model classes: the listener applies and reads JSON as it is).
Writes are server-side apply under one field manager.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from lgcp_contract.labels import FIELD_MANAGER

from ..objects import Manifest
from ..observability import metrics

Query = list[tuple[str, str]]


@dataclass(frozen=True)
class Kind:
    """Where a kind lives in the API: group-version path and plural resource name."""

    api: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None) -> str:
        """The collection's path, or the object's when `name` is given."""
        base = f"{self.api}/namespaces/{namespace}/{self.plural}" if namespace else f"{self.api}/{self.plural}"
        return f"{base}/{name}" if name else base


KINDS: dict[str, Kind] = {
    "Secret": Kind("/api/v1", "secrets"),
    "Service": Kind("/api/v1", "services"),
    "Pod": Kind("/api/v1", "pods"),
    "Event": Kind("/api/v1", "events"),
    "Deployment": Kind("/apis/apps/v1", "deployments"),
    "Ingress": Kind("/apis/networking.k8s.io/v1", "ingresses"),
    "HTTPRoute": Kind("/apis/gateway.networking.k8s.io/v1", "httproutes"),
    "HorizontalPodAutoscaler": Kind("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "PodDisruptionBudget": Kind("/apis/policy/v1", "poddisruptionbudgets"),
    "StatefulSet": Kind("/apis/apps/v1", "statefulsets"),
    "NetworkPolicy": Kind("/apis/networking.k8s.io/v1", "networkpolicies"),
    "PersistentVolumeClaim": Kind("/api/v1", "persistentvolumeclaims"),
    "Lease": Kind("/apis/coordination.k8s.io/v1", "leases"),
}


class Gone(Exception):
    """A watch's resourceVersion is too old (410): list again."""


class LeadershipExpired(Exception):
    """A write refused because the lease was not renewed within its deadline (kube/lease.py)."""


async def connect(kubeconfig: str | None) -> client.ApiClient:
    """An ApiClient from a kubeconfig file, or from the pod's service account when None."""
    configuration = client.Configuration()
    if kubeconfig:
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        # kubernetes_asyncio leaves this one unannotated
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


class Kube:
    """The calls the listener makes; every method takes and returns plain dicts."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.writes = 0  # counted for the benchmark and /metrics: each apply, create or delete
        # Set by a LeaderElection: False while its lease may have passed to another replica.
        # The lease gives no fencing: a process stopped past its deadline (SIGSTOP, a frozen
        # VM) resumes with work in hand and sends it before its lease task runs again.
        self.fence: Callable[[], bool] | None = None

    async def close(self) -> None:
        """Closes the API client's connections."""
        await self.api.close()

    def _wrote(self, kind: str) -> None:
        if kind != "Lease" and self.fence is not None and not self.fence():
            raise LeadershipExpired(f"not writing a {kind}: the lease was not renewed within its deadline")
        self.writes += 1
        metrics.WRITES.inc()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: object = None,
        content_type: str = "application/json",
        request_timeout: float = 30,
    ) -> Manifest:
        resp = await self.api.call_api(
            path,
            method,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=request_timeout,
        )
        try:
            data: bytes = await resp.read()
        finally:
            resp.release()
        if not 200 <= resp.status < 300:
            raise ApiException(status=resp.status, reason=data.decode(errors="replace")[:500])
        found: Manifest = json.loads(data) if data else {}
        return found

    async def apply(self, manifest: Manifest, *, force: bool = True) -> Manifest:
        """Server-side apply as `lgcp-listener`; `force` takes fields over from other managers (drift)."""
        kind = KINDS[manifest["kind"]]
        meta = manifest["metadata"]
        self._wrote(manifest["kind"])
        return await self._call(
            "PATCH",
            kind.path(meta.get("namespace"), meta["name"]),
            query=[("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")],
            body=manifest,
            content_type="application/apply-patch+yaml",
        )

    async def create(self, manifest: Manifest) -> Manifest:
        """POST; 409 when it already exists."""
        kind = KINDS[manifest["kind"]]
        meta = manifest["metadata"]
        self._wrote(manifest["kind"])
        return await self._call(
            "POST", kind.path(meta.get("namespace")), body=manifest, query=[("fieldManager", FIELD_MANAGER)]
        )

    async def replace(self, manifest: Manifest) -> Manifest:
        """PUT with the manifest's resourceVersion: fails with 409 if someone wrote meanwhile."""
        kind = KINDS[manifest["kind"]]
        meta = manifest["metadata"]
        self._wrote(manifest["kind"])
        return await self._call(
            "PUT",
            kind.path(meta.get("namespace"), meta["name"]),
            body=manifest,
            query=[("fieldManager", FIELD_MANAGER)],
        )

    async def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        """The object, or None when it does not exist."""
        try:
            return await self._call("GET", KINDS[kind].path(namespace, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def delete(
        self, kind: str, namespace: str | None, name: str, *, propagation: str = "Background", uid: str | None = None
    ) -> bool:
        """Deletes; False when already gone. With `uid`, deletes only that incarnation."""
        body: Manifest = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        self._wrote(kind)
        try:
            await self._call("DELETE", KINDS[kind].path(namespace, name), body=body)
            return True
        except ApiException as exc:
            if exc.status in (404, 409):  # gone, or a newer object of that name (uid precondition)
                return False
            raise

    async def list(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[Manifest], str]:
        """Every item (following `continue`), and the list's resourceVersion to watch from."""
        items: list[Manifest] = []
        token = None
        while True:
            query: Query = [("limit", "500")]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if token:
                query.append(("continue", token))
            page = await self._call("GET", KINDS[kind].path(namespace), query=query, request_timeout=120)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                version: str = page["metadata"]["resourceVersion"]
                return items, version

    async def watch(
        self,
        kind: str,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[Manifest]:
        """Events after `resource_version` until the server ends the watch; raises Gone on 410.

        Bookmarks are yielded too (type BOOKMARK) so the caller can advance its resourceVersion.
        """
        query: Query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        if label_selector:
            query.append(("labelSelector", label_selector))
        resp = await self.api.call_api(
            KINDS[kind].path(namespace),
            "GET",
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=timeout_seconds + 30,
        )
        try:
            if resp.status == 410:
                raise Gone("resource version too old")
            if not 200 <= resp.status < 300:
                raise ApiException(status=resp.status, reason=(await resp.read()).decode(errors="replace")[:500])
            while line := await resp.content.readline():
                event: dict[str, Any] = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise Gone(status.get("message", "resource version too old"))
                    raise ApiException(status=status.get("code", 500), reason=status.get("message"))
                yield event
        finally:
            resp.release()
