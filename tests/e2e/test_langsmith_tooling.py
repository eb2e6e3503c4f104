"""LangChain's own tooling against agents on the real node (issue 17): a crash-looping agent's pod
logs through `langgraph deploy logs --level error`, secret values printed in the agent's pod (a
secret's, and a `secret_references` key's that only the cluster holds) redacted before they leave
the cluster, and `custom_url` answered through Traefik.

The agents' images cannot print their environment (the sample agent and the crashing one are
fixed images), so a sidecar of the crashing image prints the values itself: the listener
redacts by value, whichever container of the agent's pod prints it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from agents import CRASHING, REPO, SAMPLE
from lgcp_local_stack.control_plane import ControlPlaneError, wait_for, wait_route
from lgcp_local_stack.release import Release

pytestmark = [pytest.mark.cluster, pytest.mark.images]
CLI = REPO / ".venv" / "bin" / "langgraph"


def langgraph(release: Release, home: Path, *args: str) -> str:
    """`langgraph ARGS` as a user runs it against the release (environment only); its output."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANGGRAPH_HOST_URL": release.api_url,
        "LANGGRAPH_HOST_API_KEY": release.admin_key,
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [str(CLI), *args],
        cwd=REPO / "examples" / "sample-agent",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"langgraph {' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def curl_status(url: str, host: str) -> str:
    """The HTTP status curl gets for `url` (on the LangSmith host: the node's Traefik) with another
    Host header."""
    proc = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {host}", url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.stdout


def test_a_crash_loop_and_a_printed_secret_in_deploy_logs(demo, plane, listener_id, tmp_path):
    release = demo.release
    secret, held = "sk-e2e-" + os.urandom(12).hex(), "sk-held-" + os.urandom(12).hex()
    name = f"e2e-logs-{os.urandom(3).hex()}"
    # A Secret of the agents' namespace that the agent reads by reference: its value is never
    # the API's to know, so only the listener (reading it) can redact it.
    release.node.kubectl(
        "create", "secret", "generic", f"{name}-held", "-n", release.agents_namespace, f"--from-literal=token={held}"
    )
    talker = {
        "name": "talker",
        "image": CRASHING,
        "command": ["sh", "-c", f"echo 'ERROR talker: connecting with token={secret} held={held}'; exec sleep 3600"],
    }
    deployment = plane.create(
        name,
        CRASHING,
        listener_id,
        memory_mb=256,
        secrets={"TALKER_TOKEN": secret},
        references=[{"name": "HELD_TOKEN", "secret_name": f"{name}-held", "secret_key": "token"}],
        spec={"sidecars": [talker]},
    )
    try:
        revision = plane.wait_revision(deployment["id"], {"DEPLOYED", "DEPLOY_FAILED"}, timeout=300)
        assert revision["status"] == "DEPLOY_FAILED", revision

        talked = "talker: connecting with token=[REDACTED] held=[REDACTED]"
        wanted = ("exited with code 3", talked, "DEPLOY_FAILED: crash loop")
        seen = [""]

        def errors() -> str | None:
            seen[0] = langgraph(
                release, tmp_path, "deploy", "logs", "--deployment-id", deployment["id"], "--level", "error"
            )
            return seen[0] if all(w in seen[0] for w in wanted) else None

        # The listener ships every 15 s; a crash loop's back-off grows from 10 s.
        try:
            shown = wait_for(errors, "the crash loop in `deploy logs --level error`", timeout=180, interval=5)
        except ControlPlaneError:
            pytest.fail(f"`deploy logs --level error` lacks one of {wanted}:\n{seen[0][-3000:]}")
        assert "lgcp-crashing-agent: exiting" not in shown  # INFO: not an error
        everything = langgraph(release, tmp_path, "deploy", "logs", "--deployment-id", deployment["id"])
        assert "lgcp-crashing-agent: exiting with status 3" in everything
        assert secret not in shown + everything and held not in shown + everything
    finally:
        plane.delete(deployment["id"])
        release.node.kubectl("delete", "secret", f"{name}-held", "-n", release.agents_namespace, check=False)


def test_custom_url_answers_through_traefik(demo, plane, listener_id):
    release = demo.release
    name = f"e2e-url-{os.urandom(3).hex()}"
    host = f"{name}.custom.lgcp.test"
    deployment = plane.create(name, SAMPLE, listener_id, memory_mb=256, custom_url=f"http://{host}")
    try:
        revision = plane.wait_revision(deployment["id"], {"DEPLOYED", "DEPLOY_FAILED"}, timeout=300)
        assert revision["status"] == "DEPLOYED", revision
        wait_route(f"{release.agent_url(name)}/ok")
        # The custom host serves the agent's own path (Ingress has no portable prefix rewrite).
        path = urlsplit(release.agent_url(name)).path
        url = f"http://{release.node.ingress.host}:{release.node.ingress.port}{path}/ok"

        wait_for(lambda: curl_status(url, host) == "200", f"{host} answering through Traefik", timeout=60)
        assert curl_status(url, "not-routed.lgcp.test") == "404"  # only the hosts of the agent's route
    finally:
        plane.delete(deployment["id"])
