"""Where a pass reads what the informer cache does not have: pod CPU and memory from the
metrics API (`metrics.k8s.io`, served by metrics-server: `list` on `pods` of that group in the
agents' namespaces, nothing cluster-wide), and each agent pod's own `<mount prefix>/metrics`
over the pod network."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
from kubernetes_asyncio.client.exceptions import ApiException
from lgcp_contract import labels as L

from ..kube.client import Kube
from ..render.agent import SERVER
from .agent_text import MAX_TEXT_BYTES, AgentSample, AgentTextError, parse
from .figures import Usage
from .quantities import parse_quantity

log = logging.getLogger(__name__)
SCRAPE_TIMEOUT_SECONDS = 2.0
SCRAPES_AT_ONCE = 8


class PodUsage:
    """CPU and memory of the agent pods of a namespace, one list call per namespace and pass.
    Without metrics-server the group is not served (404, or 503 from an unavailable APIService):
    that is said once, and the figures are left out until it answers."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.available: bool | None = None

    async def read(self, namespace: str) -> dict[str, Usage] | None:
        try:
            resp = await self.kube.api.call_api(
                f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
                "GET",
                query_params=[("labelSelector", f"{L.COMPONENT}={SERVER}")],
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=10,
            )
            try:
                data: bytes = await resp.read()
            finally:
                resp.release()
            status = resp.status
        except ApiException as exc:
            status, data = exc.status, b""
        if status in (404, 503):
            self._say(False, f"the metrics API answered {status}: is metrics-server installed?")
            return None
        if status != 200:
            raise ApiException(status=status, reason=data.decode(errors="replace")[:200])
        self._say(True, "the metrics API answers: pod CPU and memory are gathered")
        listed = json.loads(data)
        usage: dict[str, Usage] = {}
        for item in listed.get("items") or []:
            cpu = memory = 0.0
            for container in item.get("containers") or []:
                figures = container.get("usage") or {}
                cpu += parse_quantity(str(figures.get("cpu", "0")))
                memory += parse_quantity(str(figures.get("memory", "0")))
            usage[item["metadata"]["name"]] = Usage(cpu, memory)
        return usage

    def _say(self, available: bool, message: str) -> None:
        if self.available is not available:
            (log.info if available else log.warning)("%s", message)
        self.available = available


class AgentScraper:
    """Reads agent pods' metrics pages, a few at a time, each within a short timeout: a pod
    that does not answer costs one timeout and yields nothing this pass."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=SCRAPE_TIMEOUT_SECONDS)
        self._slots = asyncio.Semaphore(SCRAPES_AT_ONCE)

    async def close(self) -> None:
        await self.client.aclose()

    async def scrape(self, urls: dict[str, str]) -> dict[str, AgentSample]:
        """The sample of each pod (name -> URL) that answered with Prometheus text."""
        names = list(urls)
        results = await asyncio.gather(*(self._one(urls[name]) for name in names))
        return {name: sample for name, sample in zip(names, results, strict=True) if sample is not None}

    async def _one(self, url: str) -> AgentSample | None:
        async with self._slots:
            try:
                async with self.client.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        return None
                    body = b""
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_TEXT_BYTES:
                            return None
                return parse(body.decode(errors="replace"))
            except (httpx.HTTPError, AgentTextError) as exc:
                log.debug("no metrics from %s: %s", url, type(exc).__name__)
                return None


def pod_metrics_url(ip: str, port: int, prefix: str) -> str:
    """The agent's page on the pod itself (IPv6 addresses bracketed)."""
    host = f"[{ip}]" if ":" in ip else ip
    return f"http://{host}:{port}{prefix}/metrics"
