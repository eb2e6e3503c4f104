"""The chart's commands and its `helm test` script, run against the real API: on the local
cluster pods are simulated, so this is where the script itself is proven to work (and to fail)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from chart_commands import REPO, VALUES_DIR, render
from cryptography.fernet import Fernet
from harness import processes

ADMIN_KEY = "lgcp_chart_tests_" + "k" * 40


def rendered(kind: str, component: str) -> dict:
    documents = render("helm", "-f", str(VALUES_DIR / "local.yaml"))
    return next(
        d
        for d in documents
        if d["kind"] == kind and d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    )


@pytest.fixture
def api(postgres_dsn: str, redis_url: str, tmp_path: Path):
    """`lgcp-api` started with the chart's own args (migrate init container, then serve)."""
    pod = rendered("Deployment", "api")["spec"]["template"]["spec"]
    env = {
        **os.environ,
        "LGCP_DATABASE_URL": postgres_dsn,
        "LGCP_REDIS_URL": redis_url,
        "LGCP_SECRET_KEY": "s" * 64,
        "LGCP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LGCP_ADMIN_API_KEY": ADMIN_KEY,
        "LGCP_ENVIRONMENT": "test",
    }
    binary = str(REPO / ".venv" / "bin" / "lgcp-api")
    subprocess.run([binary, *pod["initContainers"][0]["args"]], env=env, check=True, capture_output=True, timeout=120)
    args = pod["containers"][0]["args"]
    port = processes.free_port()
    # The chart's serve args, bound to loopback on a free port instead of 0.0.0.0:8080.
    args = [*args[: args.index("--host")], "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "api.log"
    proc = processes.start([binary, *args], log, env=env)
    processes.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200, "lgcp-api", proc=proc, log=log
    )
    yield f"http://127.0.0.1:{port}"
    processes.stop(proc)


def run_helm_test_script(base: str, api_key: str) -> subprocess.CompletedProcess:
    container = rendered("Pod", "test")["spec"]["containers"][0]
    assert container["command"][:2] == ["python3", "-c"]
    env = {**os.environ, "API_ROOT": f"{base}/api-host", "READYZ_URL": f"{base}/readyz", "API_KEY": api_key}
    names = {e["name"] for e in container["env"]}
    assert names == {"API_ROOT", "READYZ_URL", "API_KEY"}
    return subprocess.run(
        [sys.executable, "-c", container["command"][2]], env=env, capture_output=True, text=True, timeout=60
    )


def test_helm_test_script_passes_against_the_api(api: str) -> None:
    proc = run_helm_test_script(api, ADMIN_KEY)
    assert proc.returncode == 0, proc.stderr
    assert "ok: /readyz and an authenticated list answered" in proc.stdout


def test_helm_test_script_fails_with_a_wrong_key(api: str) -> None:
    proc = run_helm_test_script(api, "lgcp_wrong_" + "x" * 40)
    assert proc.returncode != 0
    assert "401" in proc.stderr
