"""Fixtures of the CLI suite: the real API as a process (real Postgres and Redis), and
langgraph-cli run as a subprocess against it, configured as a user would (environment only)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from harness import processes
from lgcp_api.core.migrate import apply_migrations

ADMIN_KEY = "lgcp_test_admin_" + "c" * 40
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@dataclass(frozen=True)
class Api:
    root: str  # what a user gives the CLI: LANGGRAPH_HOST_URL=<root>/api-host
    folder: Path

    @property
    def v2(self) -> str:
        return f"{self.root}/api-host/v2"

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.v2, headers={"X-Api-Key": ADMIN_KEY}, timeout=30)


@pytest.fixture
async def api(postgres_dsn: str, redis_url: str) -> AsyncIterator[Api]:
    await asyncio.to_thread(apply_migrations, postgres_dsn)
    folder = Path(tempfile.mkdtemp(prefix="lgcp-cli-"))
    port = processes.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LGCP_")},
        "LGCP_DATABASE_URL": postgres_dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": "k" * 48,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": ADMIN_KEY,
        "LGCP_LOG_LEVEL": "WARNING",
    }
    log = folder / "api.log"
    server = processes.start(
        [sys.executable, "-m", "lgcp_api", "serve", "--host", "127.0.0.1", "--port", str(port)], log, env=env
    )
    root = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(
            processes.wait_until, lambda: httpx.get(f"{root}/ok").status_code == 200, "lgcp-api", proc=server, log=log
        )
        yield Api(root, folder)
    finally:
        processes.stop(server)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


@pytest.fixture
def langgraph(api: Api, tmp_path: Path):
    """Runs `langgraph <args>` in a project folder (a langgraph.json, which `deploy` insists
    on even with --image-uri) with only the environment a user would set."""
    config = {"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}, "image_distro": "wolfi"}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "LANGGRAPH_HOST_URL": f"{api.root}/api-host",
            "LANGGRAPH_HOST_API_KEY": ADMIN_KEY,
            "NO_COLOR": "1",
        }
        result = subprocess.run(
            [str(LANGGRAPH), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        if check:
            assert result.returncode == 0, f"langgraph {' '.join(args)}\n{result.stdout}\n{result.stderr}"
        return result

    return run
