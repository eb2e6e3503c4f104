"""The listener process: register, elect a leader, converge, follow notifications, resync."""

from __future__ import annotations

import asyncio
import logging
import uuid

from pydantic import ValidationError

from .connections import ExternalConnections, SharedConnections
from .control_plane import ControlPlane
from .databases import SharedDatabases
from .dedicated import DedicatedConfig, DedicatedConnections
from .health import serve
from .kube import Kube, connect
from .leader import LeaderElection
from . import metrics
from .notifications import follow
from .reconciler import Reconciler
from .render import PlatformEnv, RenderContext, RouteConfig
from .settings import Settings

log = logging.getLogger(__name__)

MAX_IDS_PER_READ = 100  # the API's limit for ?deployment_id=


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _connections(settings: Settings, kube: Kube):
    if settings.database_mode == "dedicated":
        return DedicatedConnections(kube, render_context(settings))
    if settings.database_mode == "external":
        return ExternalConnections(_secret(settings.external_database_uri_template),
                                   _secret(settings.external_redis_uri_template))
    return SharedConnections(SharedDatabases(
        _secret(settings.postgres_admin_url), settings.agent_postgres_host, settings.agent_postgres_port,
        _secret(settings.agent_redis_url), settings.agent_redis_databases, settings.agent_redis_acl,
        spare_databases=settings.spare_databases))


def render_context(settings: Settings) -> RenderContext:
    """What rendering needs from the settings."""
    return RenderContext(
        compute_id=settings.compute_id,
        route=RouteConfig(settings.langsmith_hostname, settings.base_path, settings.routing_mode,
                          settings.ingress_class_name, settings.tls_secret_name,
                          settings.gateway_name, settings.gateway_namespace),
        platform=PlatformEnv(settings.langsmith_endpoint, _secret(settings.langsmith_api_key),
                             _secret(settings.license_key)),
        dedicated=_dedicated_config(settings),
    )


def _dedicated_config(settings: Settings) -> DedicatedConfig | None:
    if settings.database_mode != "dedicated":
        return None
    return DedicatedConfig(
        postgres_image=settings.dedicated_postgres_image, redis_image=settings.dedicated_redis_image,
        postgres_storage_size=settings.dedicated_postgres_storage_size,
        postgres_storage_class=settings.dedicated_postgres_storage_class,
        postgres_resources=settings.dedicated_postgres_resources,
        redis_resources=settings.dedicated_redis_resources,
        image_pull_secrets=tuple(settings.dedicated_image_pull_secrets))


class Listener:
    """One listener replica; `run()` returns only when leadership is lost (then the process exits)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kube: Kube | None = None
        self.reconciler: Reconciler | None = None
        self.listener_id: str | None = None
        self._refetch = asyncio.Event()
        self._changed: set[str] = set()  # deployment ids notified since the last read
        self._reread_all = False
        self._ready = False

    def ready(self) -> bool:
        """What /readyz answers: a waiting standby, or a leader that is registered and synced."""
        return self._ready

    async def run(self) -> None:
        """Runs until the lease is lost or a background task fails; cleans up either way."""
        s = self.settings
        health = await serve(s.health_port, self.ready) if s.health_port else None
        self.kube = Kube(await connect(s.kubeconfig))
        control_plane = ControlPlane(s.api_url, s.api_key.get_secret_value(), s.tenant_id)
        connections = _connections(s, self.kube)
        election = None
        tasks: list[asyncio.Task] = []
        try:
            if s.leader_election:
                election = LeaderElection(self.kube, s.lease_namespace, s.lease_name, s.pod_name,
                                          s.lease_duration_seconds)
                tasks.append(asyncio.create_task(election.run(), name="lease"))
                log.info("waiting for the lease %s/%s", s.lease_namespace, s.lease_name)
                self._ready = True  # a healthy standby is ready: it must not stall a rollout
                await _first(election.is_leader.wait(), *tasks)
                self._ready = False  # until registered and synced
                metrics.IS_LEADER.set(1)
            self.listener_id = await _retry(lambda: control_plane.register(s.compute_id, s.namespaces), "register")
            log.info("registered as listener %s (compute_id %s)", self.listener_id, s.compute_id)
            self.reconciler = Reconciler(self.kube, control_plane, connections, render_context(s),
                                         s.namespaces, s.database_retention, s.workers)
            tasks += [asyncio.create_task(inf.run(), name=f"watch-{kind}-{ns}")
                      for (kind, ns), inf in self.reconciler.informers.items()]
            await _first(self.reconciler.wait_synced(), *tasks)
            if s.redis_url is not None:
                # Positioned on the stream before the first read, so no change falls in between.
                positioned = asyncio.Event()
                tasks.append(asyncio.create_task(
                    follow(s.redis_url.get_secret_value(), self.listener_id, self._notified, positioned),
                    name="notifications"))
                try:
                    await asyncio.wait_for(positioned.wait(), 2)
                except asyncio.TimeoutError:
                    log.warning("notification stream not reachable yet: changes wait for the resync until it is")
            state = await _retry(lambda: control_plane.desired_state(self.listener_id), "desired state")
            self.reconciler.set_desired(state.deployments)
            tasks.append(asyncio.create_task(self._resync_loop(control_plane), name="resync"))
            tasks.append(asyncio.create_task(self.reconciler.run_workers(), name="workers"))
            self._ready = True
            watched = [election.lost.wait()] if election else []
            await _first(*watched, *tasks)
        finally:
            self._ready = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if election is not None:
                await election.release()
            await control_plane.close()
            if isinstance(connections, SharedConnections):
                await connections.databases.close()
            await self.kube.api.close()
            if health is not None:
                await health.cleanup()

    def _notified(self, deployment_id: str | None) -> None:
        """A notification: reread that deployment (None: everything) as soon as possible."""
        if deployment_id is None or not _is_uuid(deployment_id):
            self._reread_all = True
        else:
            self._changed.add(deployment_id)
        self._refetch.set()

    async def _resync_loop(self, control_plane: ControlPlane) -> None:
        """Rereads the deployments notifications name (up to MAX_IDS_PER_READ at a time), and
        everything every resync interval or when a notification asks for it."""
        loop, delay = asyncio.get_running_loop(), 0.5
        next_full = loop.time() + self.settings.resync_seconds
        while True:
            if not self._changed and not self._reread_all:
                try:
                    await asyncio.wait_for(self._refetch.wait(), max(0.0, next_full - loop.time()))
                except asyncio.TimeoutError:
                    pass
            self._refetch.clear()
            full = self._reread_all or loop.time() >= next_full
            ids = [] if full else sorted(self._changed)[:MAX_IDS_PER_READ]
            self._changed.difference_update(ids)
            if full:
                self._reread_all = False
                self._changed.clear()
            try:
                if full:
                    state = await control_plane.desired_state(self.listener_id)
                    self.reconciler.set_desired(state.deployments)
                    next_full = loop.time() + self.settings.resync_seconds
                else:
                    state = await control_plane.desired_state(self.listener_id, ids)
                    self.reconciler.update_desired(ids, state.deployments)
                delay = 0.5
            except Exception as exc:  # noqa: BLE001 - try again shortly; nothing notified is dropped
                metrics.ERRORS.labels(kind="desired_state").inc()
                log.warning("fetching the desired state failed: %s", describe_failure(exc))
                self._reread_all = self._reread_all or full
                self._changed.update(ids)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.resync_seconds)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _first(*awaitables) -> None:
    """Waits until the first of `awaitables` finishes and re-raises its error.

    Tasks passed in keep running; waiters created here for plain coroutines are cancelled.
    """
    futures, created = [], []
    for awaitable in awaitables:
        if isinstance(awaitable, asyncio.Future):
            futures.append(awaitable)
        else:
            created.append(asyncio.ensure_future(awaitable))
            futures.append(created[-1])
    done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    for future in created:
        if not future.done():
            future.cancel()
    for future in done:
        future.result()


async def _retry(call, what: str, attempts: int = 30):
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await call()
        except Exception as exc:  # noqa: BLE001
            if attempt == attempts - 1:
                raise
            log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


def describe_failure(exc: Exception) -> str:
    """What went wrong, fit for a log line: a desired state that does not parse is described
    by where and why only, since pydantic's own text repeats the input, secret values included."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                         for e in exc.errors(include_input=False, include_url=False))
    return str(exc)
