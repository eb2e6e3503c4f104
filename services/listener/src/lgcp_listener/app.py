"""The listener process: register, elect a leader, converge, follow notifications, resync.

This is the wiring: it builds every part from its group of the settings and runs them as tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from .control_plane import http_wakeups
from .control_plane.client import ControlPlane
from .control_plane.notifications import follow
from .databases.mode import DatabaseMode
from .databases.modes import open_database_mode as open_database_mode  # re-exported: a test wraps it
from .kube.client import Kube, connect
from .kube.lease import LeaderElection
from .logs import shipping as log_shipping
from .logs.collector import LogCollector
from .metrics import gatherer as metrics_gathering
from .metrics.sources import AgentScraper, PodUsage
from .observability import metrics
from .observability.failures import describe_failure
from .observability.health import serve
from .reconcile.controller import Controller
from .render.agent import mount_prefix
from .render.context import RenderContext
from .settings import Settings

log = logging.getLogger(__name__)

MAX_IDS_PER_READ = 100  # the API's limit for ?deployment_id=
MIN_RETRY_SECONDS = 0.5  # the shortest wait after a failed read of the desired state
DATA_STORE_SECONDS = 10.0  # how long registering waits to learn where agents' databases are
# The shutdown's bounds. A replica that lost its lease must exit for Kubernetes to restart it as
# a standby, so no step may hold the exit: the tasks get STOP_TASKS_SECONDS to end after they are
# cancelled (again every round, since a task can swallow one cancellation: asyncio.wait_for in
# Python 3.11 returns when its inner future ends in the same loop iteration as the cancel), and
# each close gets CLOSE_STEP_SECONDS. Five closes and the tasks: about 20 s at most.
STOP_TASKS_SECONDS = 6.0
STOP_TASKS_ROUNDS = 3
CLOSE_STEP_SECONDS = 3.0
T = TypeVar("T")


async def _data_store(mode: DatabaseMode) -> str | None:
    """Where agents' databases are, for the registration (a move between listeners keeps the data
    only when both report the same). None, which keeps what the API had, when the data plane's
    Postgres does not answer soon: registering must not wait for it."""
    try:
        return await asyncio.wait_for(mode.data_store(), DATA_STORE_SECONDS)
    except Exception as exc:  # any failure of the mode's server only leaves the identity unknown
        log.warning("where agents' databases are is not known yet (%s): registering without it", exc)
        return None


def registered_namespaces(settings: Settings) -> list[str]:
    """The namespaces as registered: the default first, since the API puts a deployment that
    names no namespace into the listener's first one (DEFAULT_NAMESPACE, the chart's
    listener.defaultNamespace)."""
    default = settings.default_namespace or settings.namespaces[0]
    return [default, *(name for name in settings.namespaces if name != default)]


def render_context(settings: Settings) -> RenderContext:
    """What rendering needs from the settings."""
    return RenderContext(compute_id=settings.compute_id, route=settings.route, platform=settings.platform)


class StartupError(RuntimeError):
    """A start-up call failed every attempt; the message is log-safe (describe_failure)."""


class _Stopped(Exception):
    """A background task (the lease: lost) ended before the step being awaited finished."""


class Listener:
    """One listener replica; `run()` returns only when leadership is lost (then the process exits)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kube: Kube | None = None
        self.control_plane: ControlPlane | None = None
        self.database_mode: DatabaseMode | None = None
        self.controller: Controller | None = None
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
        election: LeaderElection | None = None
        tasks: list[asyncio.Task[Any]] = []
        async with contextlib.AsyncExitStack() as resources:
            # Closed in reverse order, each even when another failed (a closer's error is logged).
            health = await serve(s.health_port, self.ready) if s.health_port else None
            if health is not None:
                resources.push_async_callback(_closing, "the health server", health.cleanup)
            kube = self.kube = Kube(await connect(s.kubeconfig))
            resources.push_async_callback(_closing, "the Kubernetes client", kube.close)
            cp_config = s.control_plane
            control_plane = self.control_plane = ControlPlane(cp_config.api_url, cp_config.api_key, cp_config.tenant_id)
            resources.push_async_callback(_closing, "the control-plane client", control_plane.close)
            ctx = render_context(s)
            databases = s.databases
            mode = self.database_mode = open_database_mode(databases, kube, ctx)
            resources.push_async_callback(_closing, "the database mode", mode.close)
            lease = s.lease
            if lease is not None:
                election = LeaderElection(kube, lease.namespace, lease.name, lease.identity, lease.duration_seconds)
                resources.push_async_callback(_closing, "the lease release", election.release)
            resources.push_async_callback(self._stop_tasks, tasks)
            try:
                await self._lead(s, election, kube, control_plane, mode, ctx, tasks)
            except _Stopped:
                log.error("stopped while starting: the lease was lost")

    async def _stop_tasks(self, tasks: list[asyncio.Task[Any]]) -> None:
        self._ready = False
        await stop_tasks(tasks, STOP_TASKS_SECONDS, STOP_TASKS_ROUNDS)

    async def _lead(
        self,
        s: Settings,
        election: LeaderElection | None,
        kube: Kube,
        control_plane: ControlPlane,
        mode: DatabaseMode,
        ctx: RenderContext,
        tasks: list[asyncio.Task[Any]],
    ) -> None:
        """Waits for the lease, registers, syncs, then runs until a task ends (the lease: lost).
        Every start-up step is abandoned (_Stopped) as soon as a background task ends."""
        cp_config, databases = s.control_plane, s.databases
        if election is not None:
            tasks.append(asyncio.create_task(election.run(), name="lease"))
            log.info("waiting for the lease %s/%s", election.namespace, election.name)
            self._ready = True  # a healthy standby is ready: it must not stall a rollout
            await _unless_ended(election.is_leader.wait(), tasks)
            self._ready = False  # until registered and synced
            metrics.IS_LEADER.set(1)
        data_store = await _unless_ended(_data_store(mode), tasks)
        listener_id = self.listener_id = await _unless_ended(
            _retry(lambda: control_plane.register(s.compute_id, registered_namespaces(s), data_store), "register"),
            tasks,
        )
        log.info("registered as listener %s (compute_id %s)", listener_id, s.compute_id)
        controller = self.controller = Controller(
            kube, control_plane, mode, ctx, s.namespaces, databases.retention, s.workers
        )
        tasks += [
            asyncio.create_task(inf.run(), name=f"watch-{kind}-{ns}")
            for (kind, ns), inf in controller.cache.informers.items()
        ]
        await _unless_ended(controller.wait_synced(), tasks)
        # Wake-ups: the API long-polled (a data plane without the control plane's Redis), or its
        # Redis stream read directly; without either, changes wait for the periodic resync.
        positioned, wakeups = asyncio.Event(), None
        if cp_config.wakeup_source == "http":
            wakeups = http_wakeups.follow(control_plane, listener_id, self._notified, positioned)
        elif cp_config.redis_url is not None:
            wakeups = follow(cp_config.redis_url, listener_id, self._notified, positioned)
        if wakeups is not None:
            # Positioned on the stream before the first read, so no change falls in between.
            tasks.append(asyncio.create_task(wakeups, name="notifications"))
            try:
                await asyncio.wait_for(positioned.wait(), 2)
            except TimeoutError:
                log.warning("notification stream not reachable yet: changes wait for the resync until it is")
        state = await _unless_ended(_retry(lambda: control_plane.desired_state(listener_id), "desired state"), tasks)
        controller.set_desired(state.deployments)
        tasks.append(asyncio.create_task(self._resync_loop(control_plane, controller, listener_id), name="resync"))
        tasks.append(asyncio.create_task(controller.run_workers(), name="workers"))
        # The agents' runtime logs, read here and shipped (the control plane never calls us).
        platform_secrets = tuple(v for v in (ctx.platform.langsmith_api_key, ctx.platform.license_key) if v)
        collector = LogCollector(kube, platform_secrets)
        tasks.append(
            asyncio.create_task(
                log_shipping.run(collector, control_plane, lambda: controller.desired.values()), name="logs"
            )
        )
        if s.metrics_interval_seconds:
            tasks.append(asyncio.create_task(self._gather_metrics(kube, control_plane, controller), name="metrics"))
        self._ready = True
        watched = [election.lost.wait()] if election else []
        await _first(*watched, *tasks)

    async def _gather_metrics(self, kube: Kube, control_plane: ControlPlane, controller: Controller) -> None:
        """The agents' metrics, gathered from the informer cache, the metrics API and the pods,
        and shipped (lgcp_listener.metrics)."""
        route, scraper = self.settings.route, AgentScraper()
        gatherer = metrics_gathering.Gatherer(
            controller.cache, lambda name: mount_prefix(route, name), PodUsage(kube), scraper
        )
        try:
            await metrics_gathering.run(
                gatherer, control_plane, lambda: controller.desired.values(), self.settings.metrics_interval_seconds
            )
        finally:
            await scraper.close()

    def _notified(self, deployment_id: str | None) -> None:
        """A notification: reread that deployment (None: everything) as soon as possible."""
        if deployment_id is None or not _is_uuid(deployment_id):
            self._reread_all = True
        else:
            self._changed.add(deployment_id)
        self._refetch.set()

    async def _resync_loop(self, control_plane: ControlPlane, controller: Controller, listener_id: str) -> None:
        """Rereads the deployments notifications name (up to MAX_IDS_PER_READ at a time), and
        everything every resync interval or when a notification asks for it."""
        resync_seconds = self.settings.resync_seconds
        loop, delay = asyncio.get_running_loop(), 0.5
        next_full = loop.time() + resync_seconds
        unreachable_since: float | None = None  # the first failed read of an outage
        while True:
            if not self._changed and not self._reread_all:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._refetch.wait(), max(0.0, next_full - loop.time()))
            self._refetch.clear()
            full = self._reread_all or loop.time() >= next_full
            ids = [] if full else sorted(self._changed)[:MAX_IDS_PER_READ]
            self._changed.difference_update(ids)
            if full:
                self._reread_all = False
                self._changed.clear()
            try:
                if full:
                    state = await control_plane.desired_state(listener_id)
                    controller.set_desired(state.deployments)
                    next_full = loop.time() + resync_seconds
                else:
                    state = await control_plane.desired_state(listener_id, ids)
                    controller.update_desired(ids, state.deployments)
                delay = 0.5
                if unreachable_since is not None:
                    log.info(
                        "the control plane answers again after %.0f s; the agents ran as last applied meanwhile",
                        loop.time() - unreachable_since,
                    )
                    unreachable_since = None
                    # Changes made meanwhile may not all have been notified: read everything next.
                    self._reread_all = self._reread_all or not full
            except Exception as exc:
                metrics.ERRORS.labels(kind="desired_state").inc()
                log.warning("fetching the desired state failed: %s", describe_failure(exc))
                if unreachable_since is None:
                    unreachable_since = loop.time()
                self._reread_all = self._reread_all or full
                self._changed.update(ids)
                # A notification ends the wait: the API wrote a change, so it is likely back, and
                # a data plane should catch up at once rather than after the rest of the backoff.
                # (One that came during the failed read counts too: the loop clears it first.)
                # Never sooner than MIN_RETRY_SECONDS, so a stream of notifications while reads
                # keep failing cannot drive the reads faster than that.
                failed_at = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._refetch.wait(), delay)
                await asyncio.sleep(max(0.0, MIN_RETRY_SECONDS - (loop.time() - failed_at)))
                delay = min(delay * 2, resync_seconds)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _first(*awaitables: Awaitable[Any]) -> None:
    """Waits until the first of `awaitables` finishes and re-raises its error.

    Tasks passed in keep running; waiters created here for plain coroutines are cancelled.
    """
    futures: list[asyncio.Future[Any]] = []
    created: list[asyncio.Future[Any]] = []
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


async def _unless_ended(awaitable: Awaitable[T], background: list[asyncio.Task[Any]]) -> T:
    """The result of `awaitable`, unless one of the `background` tasks ends first: its error is
    re-raised, and one that returns (the lease task returns when the lease is lost) raises _Stopped."""
    step = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait([step, *background], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not step.done():
            step.cancel()
            await asyncio.wait([step], timeout=CLOSE_STEP_SECONDS)  # bounded: the shutdown follows
    if step.done() and not step.cancelled():
        return step.result()
    for task in background:
        if task.done():
            task.result()
    raise _Stopped


async def stop_tasks(tasks: list[asyncio.Task[Any]], seconds: float, rounds: int) -> list[asyncio.Task[Any]]:
    """Cancels `tasks` and waits at most `seconds` for them to end, cancelling the survivors again
    each of `rounds` rounds; answers those still running then, each logged with where it waits."""
    pending = [task for task in tasks if not task.done()]
    for _ in range(rounds):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, still = await asyncio.wait(pending, timeout=seconds / rounds)
        pending = [task for task in pending if task in still]
    for task in pending:
        log.error("task %s did not stop when cancelled; abandoned at:\n%s", task.get_name(), _where(task))
    for task in tasks:  # retrieved, so that asyncio does not log them as never retrieved
        if task.done() and not task.cancelled():
            task.exception()
    return pending


def _where(task: asyncio.Future[Any]) -> str:
    """Where a task waits: every coroutine of its await chain (Task.print_stack shows only the
    outermost), and the name of the future it waits on."""
    out = io.StringIO()
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            out.write(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}\n")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if coro is not None and not hasattr(coro, "cr_frame") and not hasattr(coro, "gi_frame"):
            out.write(f"  awaiting {coro!r}\n")
            break
    return out.getvalue()


def _running_tasks() -> str:
    """Every other task still running, with where it waits: what a close may be waiting for."""
    current = asyncio.current_task()
    return "".join(f"task {task.get_name()}:\n{_where(task)}" for task in asyncio.all_tasks() if task is not current)


async def _closing(what: str, close: Callable[[], Awaitable[object]], seconds: float = CLOSE_STEP_SECONDS) -> None:
    """Runs one step of the shutdown, bounded by `seconds`; a failure or a step that does not end
    in time is logged (and abandoned) so that the others still run and the process exits."""
    step = asyncio.ensure_future(close())
    try:
        done, _ = await asyncio.wait([step], timeout=seconds)
    except asyncio.CancelledError:
        step.cancel()
        raise
    if not done:
        log.warning(
            "closing %s did not finish within %.1fs; abandoned at:\n%s\nthe tasks still running:\n%s",
            what,
            seconds,
            _where(step),
            _running_tasks(),
        )
        step.cancel()
        return
    if step.cancelled():
        log.warning("closing %s was cancelled", what)
    elif (exc := step.exception()) is not None:
        log.warning("closing %s failed: %s", what, describe_failure(exc))


async def _retry(call: Callable[[], Coroutine[Any, Any, T]], what: str, attempts: int = 30) -> T:
    """Retries a start-up call with backoff. Failures are described without the values they may
    carry (a desired state that does not parse repeats its secrets in pydantic's message)."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await call()
        except Exception as exc:
            described = describe_failure(exc)
            if attempt == attempts - 1:
                raise StartupError(f"{what} failed {attempts} times: {described}") from None
            log.warning("%s failed (%s); retrying in %.1fs", what, described, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
    raise AssertionError("unreachable: the last attempt returns or raises")
