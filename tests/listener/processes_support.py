"""The real API (`lgcp-api serve`) and listener (`lgcp-listener run`) as child processes of the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
from cryptography.fernet import Fernet
from harness import processes
from harness.cluster import LocalCluster
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from lgcp_contract import labels as L
from listener_support import eventually

BIN = Path(sys.executable).parent
# Reads, and writes that carry an Idempotency-Key, may be sent again: a second copy has no effect.
RESENDABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CUT_CONNECTION = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class ResendingTransport(httpx.AsyncBaseTransport):
    """Sends an idempotent request again when its connection was cut before an answer: a kept-alive
    connection the server has just closed (its keep-alive timeout) fails the next request on it
    with ReadError or "Server disconnected", although the request never reached the application."""

    def __init__(self, attempts: int = 3) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._attempts = attempts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resendable = request.method in RESENDABLE_METHODS or "Idempotency-Key" in request.headers
        for attempt in range(self._attempts):
            try:
                return await self._inner.handle_async_request(request)
            except CUT_CONNECTION:
                if not resendable or attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class ApiProcess:
    url: str  # .../api-host
    admin_key: str
    proc: subprocess.Popen[bytes]
    log: Path

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.url}/v2",
            headers={"X-Api-Key": self.admin_key},
            timeout=30,
            transport=ResendingTransport(),
        )

    def stop(self) -> None:
        processes.stop(self.proc)


def start_api(database_url: str, redis_url: str, log_level: str = "WARNING") -> ApiProcess:
    """Migrates `database_url` and serves the API on a free loopback port."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-api-"))
    admin_key = "lgcp_listener_tests_" + uuid.uuid4().hex
    env = {
        **os.environ,
        "LGCP_DATABASE_URL": database_url,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": admin_key,
        "LGCP_ENVIRONMENT": "test",
        "LGCP_LOG_LEVEL": log_level,
    }
    subprocess.run([str(BIN / "lgcp-api"), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port = processes.free_port()
    log = folder / "api.log"
    proc = processes.start([str(BIN / "lgcp-api"), "serve", "--host", "127.0.0.1", "--port", str(port)], log, env=env)
    processes.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200, "lgcp-api", proc=proc, log=log
    )
    return ApiProcess(f"http://127.0.0.1:{port}/api-host", admin_key, proc, log)


@dataclass
class ListenerProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    health_port: int

    def metric(self, name: str) -> float:
        """A sample's value from /metrics (sum over labels)."""
        text = httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no lease release."""
        processes.stop(self.proc, sig=9)

    def stop(self) -> None:
        processes.stop(self.proc)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_listener(env: dict[str, str]) -> ListenerProcess:
    """`lgcp-listener run` with LGCP_LISTENER_* from `env` and a free health port."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-listener-"))
    port = processes.free_port()
    full = {**os.environ, **env, "LGCP_LISTENER_HEALTH_PORT": str(port)}
    log = folder / "listener.log"
    proc = processes.start([str(BIN / "lgcp-listener"), "run"], log, env=full)
    listener = ListenerProcess(proc, log, port)
    processes.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
        "lgcp-listener",
        proc=proc,
        log=log,
    )
    return listener


class Stack:
    """One test's namespace, listener key and configuration, on the shared API."""

    def __init__(
        self,
        api: ApiProcess,
        cluster: LocalCluster,
        postgres_server: PostgresServer,
        redis_server: RedisServer,
        admin: httpx.AsyncClient,
        namespace: str,
        key: str,
        admin_db: str,
    ) -> None:
        self.api, self.cluster, self.admin, self.namespace = api, cluster, admin, namespace
        self.compute_id = f"cluster-{uuid.uuid4().hex[:8]}"
        self.listener_id: str | None = None
        self.admin_db = admin_db
        self.env = {
            "LGCP_LISTENER_API_URL": api.url,
            "LGCP_LISTENER_API_KEY": key,
            "LGCP_LISTENER_COMPUTE_ID": self.compute_id,
            "LGCP_LISTENER_NAMESPACES": namespace,
            "LGCP_LISTENER_REDIS_URL": redis_server.url(0),
            "LGCP_LISTENER_POSTGRES_ADMIN_URL": admin_db,
            "LGCP_LISTENER_AGENT_POSTGRES_HOST": "127.0.0.1",
            "LGCP_LISTENER_AGENT_POSTGRES_PORT": str(postgres_server.port),
            "LGCP_LISTENER_AGENT_REDIS_URL": redis_server.url(0),
            "LGCP_LISTENER_AGENT_REDIS_DATABASES": "64",
            "LGCP_LISTENER_KUBECONFIG": str(cluster.kubeconfig),
            "LGCP_LISTENER_LEASE_NAME": f"lgcp-listener-{self.compute_id}",
            "LGCP_LISTENER_LEASE_DURATION_SECONDS": "3",
            "LGCP_LISTENER_RESYNC_SECONDS": "30",
            "LGCP_LISTENER_LANGSMITH_HOSTNAME": "langsmith.test",
        }
        self.listeners: list[ListenerProcess] = []

    def start(self, **overrides: str) -> ListenerProcess:
        listener = start_listener({**self.env, "LGCP_LISTENER_POD_NAME": f"replica-{len(self.listeners)}", **overrides})
        self.listeners.append(listener)
        return listener

    async def registered(self) -> str:
        async def find() -> str | None:
            page = (await self.admin.get("/listeners", params={"limit": 100})).json()["resources"]
            return next((item["id"] for item in page if item["compute_id"] == self.compute_id), None)

        self.listener_id = await eventually(find, 30)
        return self.listener_id

    async def create(self, image: str = "registry.test/agent:1", **spec: Any) -> dict[str, Any]:
        body = {
            "name": f"agent-{uuid.uuid4().hex[:6]}",
            "source": "external_docker",
            "source_config": {
                "listener_id": self.listener_id,
                "listener_config": {"k8s_namespace": self.namespace},
                "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128, **spec},
            },
            "source_revision_config": {"image_uri": image},
            "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-" + uuid.uuid4().hex}],
        }
        response = await self.admin.post("/deployments", json=body)
        assert response.status_code == 201, response.text
        return cast(dict[str, Any], response.json())

    async def revision(self, deployment: dict[str, Any], revision_id: str | None = None) -> dict[str, Any]:
        rid = revision_id or (await self.admin.get(f"/deployments/{deployment['id']}")).json()["latest_revision_id"]
        return cast(dict[str, Any], (await self.admin.get(f"/deployments/{deployment['id']}/revisions/{rid}")).json())

    async def wait_revision(
        self, deployment: dict[str, Any], status: str, revision_id: str | None = None, within: float = 60
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            revision = await self.revision(deployment, revision_id)
            return revision if revision["status"] == status else None

        return await eventually(check, within, interval=0.3)

    def pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        items = self.cluster.get_json("pods", "-n", self.namespace, "-l", f"{L.DEPLOYMENT_ID}={deployment['id']}")[
            "items"
        ]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def exists(self, kind: str, name: str) -> bool:
        return self.cluster.kubectl("get", kind, name, "-n", self.namespace, check=False).returncode == 0

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stop()
