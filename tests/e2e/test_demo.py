"""`make demo` on the real node: the chart's pods really run, `helm test` passes, and what the demo
prints works when typed: the curl, the langgraph-sdk snippet, the command that reads the key."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from agents import SAMPLE, demo_command

pytestmark = [pytest.mark.cluster, pytest.mark.images]


def test_the_charts_pods_run_as_real_containers_and_helm_test_passes(demo):
    release = demo.release
    pods = release.node.get_json("pods", "-n", release.config.namespace)["items"]
    components = {}
    for pod in pods:
        component = pod["metadata"]["labels"].get("app.kubernetes.io/component")
        components.setdefault(component, []).append(pod)
    assert {"api", "listener", "database", "cache"} <= set(components), sorted(components)
    for component in ("api", "listener", "database", "cache"):
        for pod in components[component]:
            (status,) = [c for c in pod["status"]["containerStatuses"]]
            # A container containerd really runs, not a simulated one.
            assert status["ready"] and "running" in status["state"], (component, status)
            assert status["containerID"].startswith("containerd://")
    # The API pods' migration ran in a real init container and exited 0.
    for pod in components["api"]:
        (migrate,) = pod["status"]["initContainerStatuses"]
        assert migrate["state"]["terminated"]["exitCode"] == 0
    assert "ok: /readyz and an authenticated list answered" in release.test()


def test_what_the_demo_prints_works_when_typed(demo):
    text = demo.output
    release = demo.release
    agent = release.agent_url("sample-agent")
    assert re.search(r"revision \w+: DEPLOYED", text), text
    assert f"web UI   {release.ui_url}" in text and f"API      {release.api_url}" in text

    curl = next(line.strip() for line in text.splitlines() if line.strip().startswith("curl http"))
    assert curl == f"curl {agent}/ok"
    answered = subprocess.run([*curl.split(), "--silent", "--fail"], capture_output=True, text=True, timeout=30)
    assert answered.returncode == 0 and '"ok":true' in answered.stdout.replace(" ", "")

    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("from langgraph_sdk"))
    snippet = "\n".join(line.strip() for line in lines[start : start + 3])
    assert snippet.count("\n") == 2 and f'url="{agent}"' in snippet
    ran = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "echo #1 (revision 1): hello"

    # The key is not printed; the printed command reads it from the release's Secret.
    export = next(line.strip() for line in lines if line.strip().startswith("export LGCP_API_KEY="))
    key = subprocess.run(
        ["bash", "-c", f'{export} && printf %s "$LGCP_API_KEY"'], capture_output=True, text=True, check=True
    ).stdout
    assert key == release.admin_key and key not in text
    listed = httpx.get(f"{release.api_url}/v2/deployments", headers={"X-Api-Key": key}, timeout=10).json()
    sample = [d for d in listed["resources"] if d["name"] == "sample-agent"]
    assert len(sample) == 1
    revisions = httpx.get(
        f"{release.api_url}/v2/deployments/{sample[0]['id']}/revisions", headers={"X-Api-Key": key}, timeout=10
    ).json()["resources"]
    assert revisions[0]["source_revision_config"]["image_uri"] == SAMPLE
    # The UI answers through the ingress too.
    assert httpx.get(release.ui_url, timeout=10, follow_redirects=True).status_code == 200


def test_a_second_demo_run_reuses_the_release_and_the_agent(demo):
    """`make demo` again: idempotent, the same agent, no second one."""
    options = [
        "--state",
        str(demo.state),
        "--namespace",
        demo.release.config.namespace,
        "--base-path",
        demo.release.config.base_path,
    ]
    again = demo_command("up", *options, timeout=900)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "all were there" in again.stdout  # no image imported twice
    listed = httpx.get(
        f"{demo.release.api_url}/v2/deployments",
        headers={"X-Api-Key": demo.release.admin_key},
        params={"name": "sample-agent"},
        timeout=10,
    ).json()["resources"]
    assert len(listed) == 1
