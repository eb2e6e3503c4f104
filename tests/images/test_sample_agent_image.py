"""The sample agent image (examples/sample-agent) serves its graph with langgraph-api and the
Postgres + Redis runtime when run the way the listener runs an agent pod: UID 1000, a read-only
root with only /tmp writable, no capabilities, the agent's own database role and a Redis database
number, served under MOUNT_PREFIX. Its threads live in Postgres: a restarted container reads them
back. The crashing agent exits at once."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from harness.postgres import PostgresServer, start_postgres
from harness.processes import free_port
from harness.redis import start_redis
from langgraph_sdk import get_sync_client
from podman_images import PODMAN, ULIMITS, build
from prometheus_client.parser import text_string_to_metric_families

SAMPLE = "localhost/lgcp-sample-agent"
# What the listener's agent pod spec sets (services/listener, the agent Deployment's security
# context and its /tmp emptyDir).
AGENT_POD_FLAGS = [
    "--user",
    "1000:1000",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--tmpfs",
    "/tmp:rw,size=64m,mode=1777",
]

pytestmark = pytest.mark.images


@pytest.fixture(scope="module")
def built() -> None:
    build("sample-agent", "crashing-agent")


@pytest.fixture(scope="module")
def servers(built):
    pg, rd = start_postgres(), start_redis(password="redis-admin")
    yield pg, rd
    pg.stop()
    rd.stop()


def agent_database(pg: PostgresServer) -> str:
    """A database and a login role owning it, no more (what the listener's shared mode makes)."""
    name = f"agent_{uuid.uuid4().hex[:8]}"

    async def make() -> None:
        conn = await asyncpg.connect(pg.dsn())
        try:
            await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'")
            await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
            await conn.execute(f"REVOKE CONNECT ON DATABASE {name} FROM PUBLIC")
        finally:
            await conn.close()

    asyncio.run(make())
    return f"postgresql://{name}:pw-{name}@127.0.0.1:{pg.port}/{name}"


def run_agent(image: str, env: dict[str, str], tmp_path: Path) -> str:
    env_file = tmp_path / f"agent-{uuid.uuid4().hex[:6]}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    name = f"lgcp-agent-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [
            *PODMAN,
            "run",
            "--detach",
            "--name",
            name,
            "--network=host",
            *ULIMITS,
            *AGENT_POD_FLAGS,
            "--env-file",
            str(env_file),
            image,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    return name


def logs(name: str) -> str:
    out = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True)
    return (out.stdout + out.stderr)[-3000:]


def wait_ok(url: str, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered 200; container log:\n{logs(name)}")


def agent_figures(url: str) -> dict[str, dict[str, float]]:
    """The page's `lg_api_*` samples summed by their `status` label ("" when they have none)."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    figures: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith("lg_api_") and not sample.name.endswith("_bucket"):
                name = sample.name.removesuffix("_total")
                by_status = figures.setdefault(name, {})
                status = sample.labels.get("status", "")
                by_status[status] = by_status.get(status, 0) + sample.value
    return figures


def test_sample_agent_serves_under_its_prefix_and_keeps_threads_in_postgres(servers, tmp_path):
    pg, rd = servers
    port = free_port()
    prefix = "/lgp/sample-agent"
    env = {"DATABASE_URI": agent_database(pg), "REDIS_URI": rd.url(7), "MOUNT_PREFIX": prefix, "PORT": str(port)}
    name = run_agent(f"{SAMPLE}:1", env, tmp_path)
    try:
        wait_ok(f"http://127.0.0.1:{port}{prefix}/ok", name)
        # The kubelet's probe path answers at the root too.
        assert httpx.get(f"http://127.0.0.1:{port}/ok", timeout=5).status_code == 200
        client = get_sync_client(url=f"http://127.0.0.1:{port}{prefix}")
        thread = client.threads.create()
        out = client.runs.wait(thread["thread_id"], "agent", input={"messages": [{"role": "human", "content": "hi"}]})
        assert out["messages"][-1]["content"] == "echo #1 (revision 1): hi"
        # A stateless run (no thread), as the demo's snippet does.
        once = client.runs.wait(None, "agent", input={"messages": [{"role": "human", "content": "once"}]})
        assert once["messages"][-1]["content"] == "echo #1 (revision 1): once"
        # The server counted those requests by status, with their latency, and the run queue's
        # depth, on the page the listener gathers (runtime-pg leaves these off unless graph.py's
        # lifespan starts them).
        figures = agent_figures(f"http://127.0.0.1:{port}{prefix}/metrics")
        assert figures["lg_api_http_requests"].get("200", 0) >= 3, figures
        assert figures["lg_api_http_requests_latency_count"][""] >= 3, figures
        assert figures["lg_api_http_requests_latency_sum"][""] > 0, figures
        assert figures["lg_api_num_pending_runs"] == {"": 0} and figures["lg_api_num_running_runs"] == {"": 0}, figures
    finally:
        subprocess.run([*PODMAN, "rm", "--force", name], capture_output=True)

    # Revision 2 on the same database: the thread goes on where revision 1 left it.
    name = run_agent(f"{SAMPLE}:2", env, tmp_path)
    try:
        wait_ok(f"http://127.0.0.1:{port}{prefix}/ok", name)
        client = get_sync_client(url=f"http://127.0.0.1:{port}{prefix}")
        state = client.threads.get_state(thread["thread_id"])
        assert state["values"]["turns"] == 1
        out = client.runs.wait(
            thread["thread_id"], "agent", input={"messages": [{"role": "human", "content": "again"}]}
        )
        assert out["messages"][-1]["content"] == "echo #2 (revision 2): again"
        # Nothing is written outside /tmp.
        write = subprocess.run(
            [*PODMAN, "exec", name, "sh", "-c", "echo x > /app/probe"], capture_output=True, text=True
        )
        assert write.returncode != 0 and "Read-only file system" in write.stderr
    finally:
        subprocess.run([*PODMAN, "rm", "--force", name], capture_output=True)


def test_crashing_agent_exits_at_once_with_a_message(built):
    result = subprocess.run(
        [*PODMAN, "run", "--rm", "--network=none", *ULIMITS, *AGENT_POD_FLAGS, "localhost/lgcp-crashing-agent:1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3
    assert "lgcp-crashing-agent: exiting" in result.stderr
