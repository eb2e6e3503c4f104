"""The real API (`lgcp-api serve`) and listener (`lgcp-listener run`) as child processes of the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from harness import processes

BIN = Path(sys.executable).parent


@dataclass
class ApiProcess:
    url: str  # .../api-host
    admin_key: str
    proc: subprocess.Popen
    log: Path

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"{self.url}/v2", headers={"X-Api-Key": self.admin_key}, timeout=30)

    def stop(self) -> None:
        processes.stop(self.proc)


def start_api(database_url: str, redis_url: str) -> ApiProcess:
    """Migrates `database_url` and serves the API on a free loopback port."""
    folder = Path(tempfile.mkdtemp(prefix="lgcp-api-"))
    admin_key = "lgcp_listener_tests_" + uuid.uuid4().hex
    env = {**os.environ, "LGCP_DATABASE_URL": database_url, "LGCP_REDIS_URL": redis_url,
           "LGCP_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
           "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "LGCP_ADMIN_API_KEY": admin_key,
           "LGCP_ENVIRONMENT": "test", "LGCP_LOG_LEVEL": "WARNING"}
    subprocess.run([str(BIN / "lgcp-api"), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port = processes.free_port()
    log = folder / "api.log"
    proc = processes.start([str(BIN / "lgcp-api"), "serve", "--host", "127.0.0.1", "--port", str(port)], log, env=env)
    processes.wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200,
                         "lgcp-api", proc=proc, log=log)
    return ApiProcess(f"http://127.0.0.1:{port}/api-host", admin_key, proc, log)


@dataclass
class ListenerProcess:
    proc: subprocess.Popen
    log: Path
    health_port: int

    def metric(self, name: str) -> float:
        """A sample's value from /metrics (sum over labels)."""
        text = httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

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
    processes.wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
                         "lgcp-listener", proc=proc, log=log)
    return listener
