"""What the e2e tests do to agents, as a user does it: through the API and the ingress (kubectl only
to restart a pod or to read what the listener gave an agent, as an operator would)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from langgraph_sdk import get_sync_client
from lgcp_local_stack.control_plane import ControlPlane, wait_route
from lgcp_local_stack.release import Release

SAMPLE = "localhost/lgcp-sample-agent:1"
SAMPLE_NEXT = "localhost/lgcp-sample-agent:2"
CRASHING = "localhost/lgcp-crashing-agent:1"
# Never built or imported: the kubelet's pull of it fails (the node reaches no registry).
UNPULLABLE = "localhost/lgcp-never-built:1"
DEPLOYMENT_ID_LABEL = "lgcp.dev/deployment-id"
REPO = Path(__file__).resolve().parents[2]


def demo_command(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    """`make demo`'s command (`python -m lgcp_local_stack ARGS`), as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lgcp_local_stack", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def save_logs(release: Release, folder: Path) -> None:
    """The pods' logs of the release's namespace and its agents' into `folder`, for a failed run
    (CI uploads artifacts/)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for namespace in (release.config.namespace, f"{release.config.namespace}-agents"):
        pods = release.node.kubectl("get", "pods", "-n", namespace, "-o", "name", check=False).stdout.split()
        for pod in pods:
            log = release.node.kubectl("logs", "-n", namespace, pod, "--all-containers", "--prefix", check=False)
            (folder / f"{namespace}_{pod.split('/')[-1]}.log").write_text(log.stdout + log.stderr)


def deploy(plane: ControlPlane, release: Release, listener_id: str, image: str = SAMPLE, **create) -> dict:
    """Creates an agent, waits until DEPLOYED and its route answers; returns the deployment."""
    deployment = plane.create(f"e2e-{uuid.uuid4().hex[:6]}", image, listener_id, **create)
    revision = plane.wait_revision(deployment["id"], {"DEPLOYED", "DEPLOY_FAILED"}, timeout=300)
    assert revision["status"] == "DEPLOYED", revision
    wait_route(f"{release.agent_url(deployment['name'])}/ok")
    return deployment


def say(release: Release, name: str, thread_id: str | None, text: str) -> str:
    """One run of the agent's graph through the ingress with langgraph-sdk; its reply."""
    client = get_sync_client(url=release.agent_url(name))
    out = client.runs.wait(thread_id, "agent", input={"messages": [{"role": "human", "content": text}]})
    return out["messages"][-1]["content"]


def new_thread(release: Release, name: str) -> str:
    return get_sync_client(url=release.agent_url(name)).threads.create()["thread_id"]


def thread_values(release: Release, name: str, thread_id: str) -> dict:
    return get_sync_client(url=release.agent_url(name)).threads.get_state(thread_id)["values"]


def agent_env(release: Release, deployment: dict) -> dict[str, str]:
    """The environment Secret the listener wrote for the agent, decoded."""
    secret = release.node.get_json("secret", f"{deployment['name']}-env", "-n", release.agents_namespace)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def agent_pods(release: Release, deployment: dict, terminating: bool = False) -> list[dict]:
    """The agent's pods; with `terminating`, also those still draining (they serve, and their
    workers take queued runs, until they are gone)."""
    listed = release.node.get_json(
        "pods", "-n", release.agents_namespace, "-l", f"{DEPLOYMENT_ID_LABEL}={deployment['id']}"
    )
    return [p for p in listed["items"] if terminating or not p["metadata"].get("deletionTimestamp")]


def exec_python(release: Release, deployment: dict, code: str) -> tuple[int, str]:
    """Runs Python inside one of the agent's pods (its image has psycopg and redis)."""
    pod = agent_pods(release, deployment)[0]["metadata"]["name"]
    proc = release.node.kubectl(
        "exec", "-n", release.agents_namespace, pod, "--", "python3", "-c", code, check=False, timeout=60
    )
    return proc.returncode, proc.stdout + proc.stderr


def database_exists(release: Release, name: str) -> bool:
    """Whether the chart's Postgres has database `name` (psql in its pod, as its superuser)."""
    pod = release.node.get_json("pods", "-n", release.config.namespace, "-l", "app.kubernetes.io/component=database")[
        "items"
    ][0]["metadata"]["name"]
    out = release.node.kubectl(
        "exec",
        "-n",
        release.config.namespace,
        pod,
        "--",
        "psql",
        "--username",
        "postgres",
        "--tuples-only",
        "--no-align",
        "--command",
        f"SELECT count(*) FROM pg_database WHERE datname = '{name}'",
    )
    return out.stdout.strip() == "1"
