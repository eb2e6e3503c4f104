"""One fault case's control plane, every part a real process it may kill, freeze or cut: the API
(`lgcp-api serve`) on a PostgreSQL of its own, listeners (`lgcp-listener run`, shared database
mode on the session's PostgreSQL and Redis), a namespace of the suite's own kwok cluster, and the
figures a case records for docs/reliability.md."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import processes
from harness.cluster import REPO, TOOLS_BIN, LocalCluster
from harness.postgres import PostgresServer, start_postgres
from listener_support import make_namespace
from processes_support import ApiProcess, Stack, start_api

ARTIFACTS = REPO / "artifacts" / "faults"


@dataclass(frozen=True)
class KwokCluster:
    """A kwok cluster of the suite's own (scripts/cluster.sh with LGCP_CLUSTER_NAME and
    LGCP_CLUSTER_STATE): the cases stop and start its API server, which must never disturb the
    shared cluster other suites run on."""

    name: str
    state: Path

    def script(self, command: str) -> str:
        """scripts/cluster.sh COMMAND for this cluster; raises with its stderr on failure."""
        env = {
            **os.environ,
            "LGCP_CLUSTER": "kwok",
            "LGCP_CLUSTER_NAME": self.name,
            "LGCP_CLUSTER_STATE": str(self.state),
            "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}",
        }
        proc = subprocess.run(
            ["bash", str(REPO / "scripts" / "cluster.sh"), command],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/cluster.sh {command} ({self.name}) failed:\n{proc.stderr}")
        return proc.stdout

    def up(self) -> LocalCluster:
        kubeconfig = Path(self.script("up").strip().splitlines()[-1])
        assert kubeconfig.parent == self.state, kubeconfig
        return LocalCluster(kubeconfig)

    def running(self) -> bool:
        try:
            self.script("status")
        except RuntimeError:
            return False
        return True

    def kwokctl(self, *args: str) -> None:
        """kwokctl on this cluster (`stop cluster` / `start cluster`: every component; etcd's
        data is kept)."""
        env = {**os.environ, "KWOK_WORKDIR": str(self.state / "kwok"), "PATH": f"{TOOLS_BIN}:{os.environ['PATH']}"}
        subprocess.run(
            [str(TOOLS_BIN / "kwokctl"), *args, "--name", self.name],
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )


FAULTS = KwokCluster("lgcp-faults", REPO / ".cache" / "faults-cluster")


def record(case: str, **figures: object) -> None:
    """Keeps a case's figures in artifacts/faults/<case>.json (docs/reliability.md's table) and
    prints them (pytest -s shows them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{case}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"{case}: {json.dumps(figures, sort_keys=True)}")


def process_env(pid: int) -> dict[str, str]:
    """A running process's environment, to start it again exactly as it was."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def stop_postgres(server: PostgresServer) -> None:
    """Fast shutdown (SIGINT): every connection is closed, as when the database's pod goes."""
    processes.stop(server.proc, sig=signal.SIGINT)


def start_postgres_again(server: PostgresServer) -> None:
    """The same data folder and port again."""
    server.proc = processes.start(
        list(server.proc.args), server.folder / "postgres.log", user=processes.unprivileged_user()
    )


class Plane:
    """The API and its own PostgreSQL, a listener configuration (Stack) and a namespace."""

    def __init__(self, cluster: LocalCluster, postgres_server: PostgresServer, redis_server) -> None:
        self.cluster, self.postgres_server, self.redis_server = cluster, postgres_server, redis_server
        self.api_postgres: PostgresServer | None = None
        self.api: ApiProcess | None = None
        self.stack: Stack | None = None
        self.api_dsn = ""

    async def start(self, redis_url: str | None = None, **listener_env: str) -> Stack:
        """Starts the API (on `redis_url`, default the session's Redis) and one listener."""
        self.api_postgres = await asyncio.to_thread(start_postgres)
        self.api_dsn = await self.api_postgres.create_database("lgcp_api")
        notifications = redis_url or self.redis_server.url(0)
        self.api = await asyncio.to_thread(start_api, self.api_dsn, notifications, "INFO")
        admin = self.api.admin()
        key = (await admin.post("/api-keys", json={"name": "listener", "role": "listener"})).json()["key"]
        admin_db = await self.postgres_server.create_database(f"dp_{uuid.uuid4().hex[:8]}")
        namespace = make_namespace(self.cluster, "lgcp-f")
        self.stack = Stack(
            self.api, self.cluster, self.postgres_server, self.redis_server, admin, namespace, key, admin_db
        )
        self.stack.env.update({"LGCP_LISTENER_REDIS_URL": notifications, **listener_env})
        self.stack.start()
        await self.stack.registered()
        return self.stack

    def kill_api(self) -> dict[str, str]:
        """SIGKILL to the API, as when its node dies; returns its environment to start it again."""
        assert self.api is not None
        env = process_env(self.api.proc.pid)
        processes.stop(self.api.proc, sig=signal.SIGKILL)
        return env

    def start_api_again(self, env: dict[str, str]) -> None:
        """The API again on its port, as a Deployment's new pod (same settings, same database)."""
        assert self.api is not None
        api = self.api
        api.proc = processes.start(list(api.proc.args), api.log, env=env)
        processes.wait_until(
            lambda: httpx.get(f"{api.url.removesuffix('/api-host')}/ok", timeout=1).status_code == 200,
            "lgcp-api (restarted)",
            proc=api.proc,
            log=api.log,
        )

    async def close(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            await self.stack.admin.aclose()
            self.cluster.kubectl("delete", "namespace", self.stack.namespace, "--wait=false", check=False)
        if self.api is not None:
            self.api.stop()
        if self.api_postgres is not None:
            self.api_postgres.stop()
