"""The local kwok cluster supports what the product's tests need (see README, "The local cluster").
The real node has tests of its own: test_real_node.py."""

from __future__ import annotations

import json
import os
import subprocess
import time

import psutil
import pytest
from harness.cluster import CLUSTER_SCRIPT, TOOLS_BIN, LocalCluster, restricted_namespace, restricted_security_context

pytestmark = pytest.mark.cluster

RESTRICTED_CONTAINER = {"securityContext": restricted_security_context(10001)}


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> str:
    """A namespace that enforces Pod Security "restricted", deleted after the test."""
    name = restricted_namespace(local_cluster)
    yield name
    local_cluster.kubectl("delete", "namespace", name, "--wait=false")


def container(name: str, image: str) -> dict:
    return {"name": name, "image": image, **RESTRICTED_CONTAINER}


def wait_for(local_cluster: LocalCluster, what: str, check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last})")


def workload(kind: str, name: str, image: str, **spec) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container("main", image)]}},
                **spec,
            },
        }
    )


def test_deployment_becomes_available(local_cluster: LocalCluster, namespace: str) -> None:
    local_cluster.apply(workload("Deployment", "web", "example.invalid/web:1", replicas=2), "-n", namespace)
    local_cluster.kubectl("wait", "-n", namespace, "--for=condition=Available", "deployment/web", "--timeout=90s")
    assert local_cluster.get_json("-n", namespace, "deployment/web")["status"]["availableReplicas"] == 2


def test_statefulset_with_a_volume_claim_becomes_ready(local_cluster: LocalCluster, namespace: str) -> None:
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    local_cluster.apply(
        workload(
            "StatefulSet", "db", "example.invalid/db:1", replicas=1, serviceName="db", volumeClaimTemplates=[claim]
        ),
        "-n",
        namespace,
    )
    wait_for(
        local_cluster,
        "StatefulSet ready",
        lambda: local_cluster.get_json("-n", namespace, "statefulset/db")["status"].get("readyReplicas") == 1,
    )
    pvc = local_cluster.get_json("-n", namespace, "pvc/data-db-0")
    assert pvc["status"]["phase"] == "Bound"


def test_job_completes(local_cluster: LocalCluster, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [container("main", "example.invalid/job:1")]}}
        },
    }
    local_cluster.apply(json.dumps(job), "-n", namespace)
    local_cluster.kubectl("wait", "-n", namespace, "--for=condition=Complete", "job/once", "--timeout=90s")


def test_bare_pod_that_runs_to_completion_succeeds(local_cluster: LocalCluster, namespace: str) -> None:
    # What `helm test` needs: its hook pods are bare pods with restartPolicy Never.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hook", "annotations": {"helm.sh/hook": "test"}},
        "spec": {"restartPolicy": "Never", "containers": [container("main", "example.invalid/test:1")]},
    }
    local_cluster.apply(json.dumps(pod), "-n", namespace)
    wait_for(
        local_cluster,
        "pod Succeeded",
        lambda: local_cluster.get_json("-n", namespace, "pod/hook")["status"].get("phase") == "Succeeded",
    )


def test_restricted_namespace_rejects_a_privileged_pod(local_cluster: LocalCluster, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root"},
        "spec": {
            "containers": [{"name": "main", "image": "example.invalid/x:1", "securityContext": {"privileged": True}}]
        },
    }
    result = local_cluster.kubectl(
        "apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(pod), check=False
    )
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr and "restricted" in result.stderr


def test_restricted_namespace_admits_a_compliant_pod(local_cluster: LocalCluster, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ok"},
        "spec": {"containers": [container("main", "example.invalid/x:1")]},
    }
    local_cluster.apply(json.dumps(pod), "-n", namespace)
    wait_for(
        local_cluster,
        "pod Running",
        lambda: local_cluster.get_json("-n", namespace, "pod/ok")["status"].get("phase") == "Running",
    )


def waiting_reason(local_cluster: LocalCluster, namespace: str, selector: str) -> str | None:
    pods = local_cluster.get_json("-n", namespace, "pods", "-l", selector)["items"]
    for pod in pods:
        for status in pod["status"].get("containerStatuses") or []:
            reason = (status.get("state", {}).get("waiting") or {}).get("reason")
            if reason:
                return reason
    return None


def test_image_pull_failure_is_simulated(local_cluster: LocalCluster, namespace: str) -> None:
    image = "registry.invalid/agents/lgcp-fail-image-pull:1"
    local_cluster.apply(workload("Deployment", "broken", image, replicas=1), "-n", namespace)
    assert wait_for(
        local_cluster,
        "ImagePullBackOff",
        lambda: waiting_reason(local_cluster, namespace, "app=broken") == "ImagePullBackOff",
    )
    pods = local_cluster.get_json("-n", namespace, "pods", "-l", "app=broken")["items"]
    assert {p["status"]["phase"] for p in pods} == {"Pending"}
    time.sleep(3)  # kwok's pod-ready stage must not win later on
    deployment = local_cluster.get_json("-n", namespace, "deployment/broken")
    assert deployment["status"].get("availableReplicas", 0) == 0


def test_crash_loop_is_simulated(local_cluster: LocalCluster, namespace: str) -> None:
    image = "registry.invalid/agents/lgcp-fail-crashloop:1"
    local_cluster.apply(workload("Deployment", "crashing", image, replicas=1), "-n", namespace)
    wait_for(
        local_cluster,
        "CrashLoopBackOff",
        lambda: waiting_reason(local_cluster, namespace, "app=crashing") == "CrashLoopBackOff",
    )
    pod = local_cluster.get_json("-n", namespace, "pods", "-l", "app=crashing")["items"][0]
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is False and status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    # The restart count keeps rising, as a real crash loop's does.
    wait_for(
        local_cluster,
        "restart count rising",
        lambda: (
            local_cluster.get_json("-n", namespace, "pods", "-l", "app=crashing")["items"][0]["status"][
                "containerStatuses"
            ][0]["restartCount"]
            > status["restartCount"]
        ),
        timeout=30,
    )


def test_healthy_image_is_not_affected_by_failure_stages(local_cluster: LocalCluster, namespace: str) -> None:
    local_cluster.apply(
        workload("Deployment", "fine", "registry.invalid/agents/healthy:1", replicas=1), "-n", namespace
    )
    local_cluster.kubectl("wait", "-n", namespace, "--for=condition=Available", "deployment/fine", "--timeout=90s")
    assert waiting_reason(local_cluster, namespace, "app=fine") is None


def test_second_up_is_harmless_and_down_leaves_no_process(tmp_path) -> None:
    # A cluster of its own (name and state folder), so the session's cluster is untouched.
    state = tmp_path / "cluster"
    env = {
        **os.environ,
        "LGCP_CLUSTER": "kwok",
        "LGCP_CLUSTER_NAME": "lgcp-updown",
        "LGCP_CLUSTER_STATE": str(state),
        "LGCP_CLUSTER_NODES": "1",
        "PATH": f"{TOOLS_BIN}:{os.environ['PATH']}",
    }

    def script(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), command], env=env, capture_output=True, text=True, timeout=300
        )

    def cluster_processes() -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter(["cmdline"]):
            if any(str(state) in part for part in p.info["cmdline"] or []):
                found.append(p)
        return found

    try:
        first = script("up")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == str(state / "kubeconfig")
        assert cluster_processes(), "the cluster runs as local processes"
        second = script("up")
        assert second.returncode == 0 and "already running" in second.stdout
        assert script("status").returncode == 0
    finally:
        down = script("down")
    assert down.returncode == 0, down.stderr
    assert cluster_processes() == []
    assert script("status").returncode != 0


def test_cluster_has_room_for_a_thousand_agents(local_cluster: LocalCluster) -> None:
    # What bench/reconcile.py needs at N=1000: a Service and a pod per agent.
    nodes = local_cluster.get_json("nodes")["items"]
    # The API server normalises a pod count of 1000 to the quantity "1k".
    pods = [n["status"]["allocatable"]["pods"] for n in nodes]
    assert sum(int(p[:-1]) * 1000 if p.endswith("k") else int(p) for p in pods) >= 1000, pods
    cidrs = local_cluster.get_json("servicecidrs")["items"]
    prefixes = [int(c.split("/")[1]) for cidr in cidrs for c in cidr["spec"]["cidrs"]]
    assert min(prefixes) <= 22, cidrs  # a /22 or wider: over a thousand Service addresses
