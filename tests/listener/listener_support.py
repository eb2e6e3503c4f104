"""Helpers of the listener suite: a recorder of reported statuses, polling, and a running controller."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from harness.cluster import LocalCluster
from lgcp_listener.configuration import DedicatedConfig, ExternalDatabasesConfig, Retention, RouteConfig
from lgcp_listener.databases.dedicated.mode import DedicatedMode
from lgcp_listener.databases.external import ExternalMode
from lgcp_listener.databases.mode import DatabaseMode
from lgcp_listener.kube.client import Kube
from lgcp_listener.objects import Manifest
from lgcp_listener.reconcile.controller import Controller
from lgcp_listener.reconcile.ports import ControlPlaneReports
from lgcp_listener.render.context import RenderContext

T = TypeVar("T")


class RecordingControlPlane:
    """Stands in for the API's listener endpoints where a test looks only at the cluster side:
    records what the reconciler reports (the real API is used in test_with_api.py)."""

    def __init__(self) -> None:
        self.revision_statuses: list[tuple[str, str, str | None, list[dict[str, Any]]]] = []
        self.deployment_statuses: list[tuple[str, str]] = []
        self.deleted_ids: list[str] = []
        self.previews: list[tuple[str, str, list[Manifest]]] = []

    async def revision_status(
        self, revision_id: str, status: str, message: str | None, events: list[dict[str, Any]] | None = None
    ) -> None:
        self.revision_statuses.append((revision_id, status, message, events or []))

    async def deployment_status(self, deployment_id: str, status: str, message: str | None = None) -> None:
        self.deployment_statuses.append((deployment_id, status))

    async def manifests(self, deployment_id: str, revision_id: str, manifests: list[Manifest]) -> None:
        self.previews.append((deployment_id, revision_id, manifests))

    async def deleted(self, deployment_id: str) -> None:
        self.deleted_ids.append(deployment_id)

    def statuses(self, revision_id: str) -> list[str]:
        return [s for r, s, _, _ in self.revision_statuses if r == revision_id]


async def url_of_a_user_who_cannot_manage_users(redis_url: str) -> str:
    """`redis_url` as a new user that may do anything but ACL: like a managed Redis's user."""
    user = f"managed-{uuid.uuid4().hex[:6]}"
    admin = aioredis.Redis.from_url(redis_url)
    try:
        await admin.execute_command(  # type: ignore[no-untyped-call]  # redis-py: unannotated
            "ACL", "SETUSER", user, "reset", "on", ">managed-pw", "~*", "&*", "+@all", "-acl"
        )
    finally:
        await admin.aclose()
    return redis_url.replace(f"//:{urlsplit(redis_url).password}@", f"//{user}:managed-pw@")


# `check` (or the coroutine it returns) gives a falsy value, typically None, until the awaited one.
@overload
async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 30, interval: float = 0.2) -> T: ...
@overload
async def eventually(check: Callable[[], T | None], within: float = 30, interval: float = 0.2) -> T: ...
async def eventually(check: Callable[[], object], within: float = 30, interval: float = 0.2) -> Any:
    """Polls `check()` (sync or async) until it returns a truthy value; returns it or fails."""
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s: {last or check}")


def make_namespace(cluster: LocalCluster, prefix: str = "lgcp-l") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.apply(f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
""")
    return name


class Running:
    """A controller with its watches and workers running as tasks of the test's loop."""

    def __init__(self, reconciler: Controller, tasks: list[asyncio.Task[None]]) -> None:
        self.reconciler, self.tasks = reconciler, tasks

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def idle(self, within: float = 30) -> None:
        """Waits until nothing is queued or being worked on."""
        queue = self.reconciler.queue
        await eventually(lambda: len(queue) == 0 and not queue._active, within)


def render_context(compute_id: str | None = None, **route: Any) -> RenderContext:
    return RenderContext(
        compute_id or f"c-{uuid.uuid4().hex[:8]}", RouteConfig(route.pop("hostname", "langsmith.test"), **route)
    )


async def start_reconciler(
    kube: Kube,
    namespace: str,
    control_plane: ControlPlaneReports,
    connections: DatabaseMode | None = None,
    compute_id: str | None = None,
    dedicated: DedicatedConfig | None = None,
    retention: Retention = "delete",
    mode_class: type[DedicatedMode] = DedicatedMode,
    **route: Any,
) -> Running:
    """A controller watching `namespace`, with `connections` as its database mode (default:
    external, or dedicated mode (a `mode_class`) with `dedicated`)."""
    ctx = render_context(compute_id, **route)
    if connections is None:
        connections = (
            mode_class(kube, dedicated, ctx)
            if dedicated is not None
            else ExternalMode(ExternalDatabasesConfig("postgresql://u:p@pg:5432/{database}", "redis://r:6379/0"))
        )
    reconciler = Controller(kube, control_plane, connections, ctx, [namespace], retention=retention, workers=4)
    tasks = [asyncio.create_task(inf.run()) for inf in reconciler.cache.informers.values()]
    await asyncio.wait_for(reconciler.wait_synced(), 30)
    tasks.append(asyncio.create_task(reconciler.run_workers()))
    return Running(reconciler, tasks)
