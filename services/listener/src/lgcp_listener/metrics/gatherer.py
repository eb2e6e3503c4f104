"""One pass over the deployments this listener runs: read, turn into points, expose, ship.

Bounded work per pass: one informer-cache read per deployment, one metrics-API list per
namespace, at most MAX_PODS_SCRAPED_PER_DEPLOYMENT agent pages per deployment (a few at a
time, each within a short timeout), one report per deployment. Metrics are lossy by design: a
report that fails is logged and not retried (the next pass measures again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ..control_plane.client import ControlPlane
from ..objects import Manifest
from ..render.agent import PORT, SERVER
from .agent_text import AgentSample
from .exposition import Exposition
from .figures import PodView, RateTracker, Usage, desired_replicas, pod_view, revision_points
from .sources import AgentScraper, PodUsage, pod_metrics_url

log = logging.getLogger(__name__)
MAX_PODS_SCRAPED_PER_DEPLOYMENT = 10
Point = dict[str, object]


class CachedObjects(Protocol):
    """What a pass reads from the reconciler's informer cache (reconcile.ClusterCache)."""

    located: dict[str, tuple[str, str]]

    def pods_of(self, deployment: str) -> list[Manifest]: ...

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None: ...


# (pod ip, mount prefix) -> the URL of its metrics page; tests and the bench point it elsewhere.
AgentUrl = Callable[[str, str], str]


def default_agent_url(ip: str, prefix: str) -> str:
    return pod_metrics_url(ip, PORT, prefix)


class Gatherer:
    def __init__(
        self,
        cache: CachedObjects,
        mount_prefix: Callable[[str], str],
        usage: PodUsage | None,
        scraper: AgentScraper | None,
        agent_url: AgentUrl = default_agent_url,
    ) -> None:
        self.cache = cache
        self.mount_prefix = mount_prefix
        self.usage = usage
        self.scraper = scraper
        self.agent_url = agent_url
        self.rates = RateTracker()
        self.exposition = Exposition()

    async def gather(self, deployments: Iterable[DesiredDeployment]) -> dict[str, list[Point]]:
        """The points of every running deployment, by deployment id (and shown on /metrics)."""
        at = dt.datetime.now(dt.UTC)
        running = [d for d in deployments if not d.deleting and d.revision is not None]
        pods = {d.id: self._agent_pods(d.id) for d in running}
        usage = await self._usage({d.namespace for d in running})
        urls: dict[str, str] = {}
        for d in running:
            prefix = self.mount_prefix(d.name)
            scrapable = [p for p in pods[d.id] if p.ready and p.ip][:MAX_PODS_SCRAPED_PER_DEPLOYMENT]
            urls.update({_key(d.namespace, p.name): self.agent_url(p.ip or "", prefix) for p in scrapable})
        scraped: dict[str, AgentSample] = await self.scraper.scrape(urls) if self.scraper and urls else {}
        points: dict[str, list[Point]] = {}
        for d in running:
            ns = d.namespace
            keyed = [PodView(_key(ns, p.name), p.revision_id, p.ready, p.restarts, p.ip) for p in pods[d.id]]
            ns_usage = usage.get(ns)
            keyed_usage = None if ns_usage is None else {_key(ns, n): u for n, u in ns_usage.items()}
            points[d.id] = revision_points(at, keyed, self._desired(d.id), keyed_usage, scraped, self.rates)
        self.rates.forget({_key(d.namespace, p.name) for d in running for p in pods[d.id]})
        self.exposition.show([((d.id, d.name, d.namespace), points[d.id]) for d in running])
        return points

    def _agent_pods(self, deployment_id: str) -> list[PodView]:
        views = []
        for pod in self.cache.pods_of(deployment_id):
            if ((pod.get("metadata") or {}).get("labels") or {}).get(L.COMPONENT) != SERVER:
                continue  # a database pod of the dedicated mode
            view = pod_view(pod)
            if view is not None:
                views.append(view)
        return views

    def _desired(self, deployment_id: str) -> tuple[str, int] | None:
        located = self.cache.located.get(deployment_id)
        return desired_replicas(self.cache.get("Deployment", *located) if located else None)

    async def _usage(self, namespaces: set[str]) -> dict[str, dict[str, Usage] | None]:
        if self.usage is None:
            return {}
        found: dict[str, dict[str, Usage] | None] = {}
        for ns in sorted(namespaces):
            try:
                found[ns] = await self.usage.read(ns)
            except Exception as exc:
                log.warning("reading pod usage in %s failed: %s", ns, type(exc).__name__)
                found[ns] = None
        return found


def _key(namespace: str, pod: str) -> str:
    return f"{namespace}/{pod}"


async def ship_once(gatherer: Gatherer, control_plane: ControlPlane, deployments: Iterable[DesiredDeployment]) -> int:
    """Gathers and ships one pass; returns how many points were shipped. A failure for one
    deployment is logged and the others go on."""
    shipped = 0
    for deployment_id, points in (await gatherer.gather(deployments)).items():
        if not points:
            continue
        try:
            await control_plane.metrics(deployment_id, points)
            shipped += len(points)
        except Exception as exc:
            log.warning("shipping the metrics of deployment %s failed: %s", deployment_id, type(exc).__name__)
    return shipped


async def run(
    gatherer: Gatherer,
    control_plane: ControlPlane,
    deployments: Callable[[], Iterable[DesiredDeployment]],
    interval: float,
) -> None:
    """Gathers and ships every `interval` seconds until cancelled; a pass that fails is logged."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await ship_once(gatherer, control_plane, list(deployments()))
        except Exception as exc:
            log.warning("a metrics pass failed: %s", type(exc).__name__)
        await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
