"""resource_spec volumes, volume mounts, init containers and sidecars in the agent's pod (issue
17): rendered as given with the "restricted" security context on every container, and admitted
by a namespace that enforces Pod Security "restricted"."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from harness.cluster import LocalCluster
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import PlatformEnv, RouteConfig
from lgcp_listener.render.agent import render
from lgcp_listener.render.context import AgentConnections, RenderContext

CONN = AgentConnections("postgresql://u:pw@pg:5432/db", "redis://r:6379/3")
CTX = RenderContext("cid", RouteConfig("ls.example.com"), PlatformEnv())
EXTRAS = {
    "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "agent-conf"}}],
    "volume_mounts": [
        {"name": "cache", "mountPath": "/cache"},
        {"name": "conf", "mountPath": "/conf", "readOnly": True},
    ],
    "init_containers": [
        {"name": "warm", "image": "busybox:1.36", "command": ["true"], "securityContext": {"runAsUser": 2000}}
    ],
    "sidecars": [
        {
            "name": "proxy",
            "image": "envoyproxy/envoy:v1.31.0",
            "volumeMounts": [{"name": "cache", "mountPath": "/var/cache"}],
            "securityContext": {"readOnlyRootFilesystem": False},
        }
    ],
}


def pod_spec(extras: dict[str, Any]) -> dict[str, Any]:
    desired = DesiredDeployment.model_validate(
        {
            "id": "d1",
            "name": "agent",
            "namespace": "agents",
            "source_config": {"resource_spec": {"cpu": 0.1, "memory_mb": 128, **extras}},
            "secrets": [],
            "secret_references": [],
            "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "QUEUED"},
        }
    )
    deployment = next(o for o in render(desired, CONN, CTX) if o["kind"] == "Deployment")
    return cast(dict[str, Any], deployment["spec"]["template"]["spec"])


def test_extras_are_rendered_with_the_restricted_security_context() -> None:
    pod = pod_spec(EXTRAS)
    assert [v["name"] for v in pod["volumes"]] == ["tmp", "cache", "conf"]
    server, proxy = pod["containers"]
    assert [m["mountPath"] for m in server["volumeMounts"]] == ["/tmp", "/cache", "/conf"]
    assert proxy["name"] == "proxy" and proxy["volumeMounts"] == [{"name": "cache", "mountPath": "/var/cache"}]
    (warm,) = pod["initContainers"]
    for container in (proxy, warm):
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
        assert security["runAsNonRoot"] is True and security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert warm["securityContext"]["runAsUser"] == 2000
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is False


def test_without_extras_the_pod_is_as_before() -> None:
    pod = pod_spec({})
    assert (
        "initContainers" not in pod
        and len(pod["containers"]) == 1
        and pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    )


def test_a_wider_security_context_slipped_past_the_api_is_not_rendered() -> None:
    sidecar = {"name": "bad", "image": "x:1", "securityContext": {"privileged": True, "runAsNonRoot": False}}
    (_, bad) = pod_spec({"sidecars": [sidecar]})["containers"]
    assert "privileged" not in bad["securityContext"] and bad["securityContext"]["runAsNonRoot"] is True


@pytest.mark.cluster
def test_a_restricted_namespace_admits_the_pod(local_cluster: LocalCluster, namespace: str) -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "agent", "namespace": namespace},
        "spec": pod_spec(EXTRAS),
    }
    result = local_cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert result.returncode == 0, result.stderr
    assert "violate" not in result.stderr, result.stderr
    # The namespace does enforce: the same pod with a host path is refused.
    pod["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    refused = local_cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert refused.returncode != 0 and "restricted" in refused.stderr, refused.stderr
