"""Rendering one deployment's objects from its desired state (pure)."""

import base64
from typing import Any

import pytest
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import PlatformEnv, RouteConfig
from lgcp_listener.objects import Manifest
from lgcp_listener.render.agent import owned_names, render
from lgcp_listener.render.context import AgentConnections, Owner, RenderContext
from lgcp_listener.render.hashing import applied_hash, content_hash

CONN = AgentConnections("postgresql://u:pw@pg:5432/db", "redis://r:6379/3")
CTX = RenderContext(
    "cid",
    RouteConfig("ls.example.com", "/base", "ingress", "nginx", "tls-cert"),
    PlatformEnv("https://ls.example.com/api", "ls-key", "lic"),
)


def desired(**overrides: Any) -> DesiredDeployment:
    data = {
        "id": "d1",
        "name": "agent",
        "namespace": "agents",
        "source_config": {"resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.5, "memory_mb": 512}},
        "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-1"}],
        "secret_references": [{"name": "FROM_REF", "secret_name": "other", "secret_key": "k"}],
        "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "QUEUED"},
    }
    data.update(overrides)
    return DesiredDeployment.model_validate(data)


def by_kind(objects: list[Manifest]) -> dict[str, Manifest]:
    return {obj["kind"]: obj for obj in objects}


def test_single_replica_renders_secret_deployment_service_ingress_only() -> None:
    objs = render(desired(), CONN, CTX)
    assert [o["kind"] for o in objs] == ["Secret", "Deployment", "Service", "Ingress"]
    dep = by_kind(objs)["Deployment"]
    assert dep["spec"]["replicas"] == 1
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry/agent:1"
    assert container["ports"][0]["containerPort"] == 8000
    assert container["readinessProbe"]["httpGet"]["path"] == "/ok"
    env = {e["name"]: e for e in container["env"]}
    assert env["MOUNT_PREFIX"]["value"] == "/base/lgp/agent"
    assert env["FROM_REF"]["valueFrom"]["secretKeyRef"] == {"name": "other", "key": "k"}
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
    assert dep["spec"]["template"]["metadata"]["labels"][L.REVISION_ID] == "r1"


def test_a_replaced_agent_pod_pauses_before_it_stops_and_has_the_time_to() -> None:
    """The ingress keeps sending to a pod until its endpoint's removal reaches it: the server
    must keep serving meanwhile (502s during every rollout on the real node otherwise)."""
    pod = by_kind(render(desired(), CONN, CTX))["Deployment"]["spec"]["template"]["spec"]
    pause = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pause >= 5, "Traefik applies endpoint changes on a ~2 s throttle after the EndpointSlice"
    assert pod["terminationGracePeriodSeconds"] > pause


def test_pod_security_context_is_restricted() -> None:
    pod = by_kind(render(desired(), CONN, CTX))["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert all("hostPath" not in v for v in pod["volumes"])


def test_secret_holds_user_and_platform_values() -> None:
    data = by_kind(render(desired(), CONN, CTX))["Secret"]["data"]
    decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert decoded["OPENAI_API_KEY"] == "sk-1"
    assert decoded["DATABASE_URI"] == CONN.database_uri and decoded["REDIS_URI"] == CONN.redis_uri
    assert decoded["LANGGRAPH_CLOUD_LICENSE_KEY"] == "lic"


def test_autoscaling_range_gives_hpa_without_replicas_and_pdb_above_one() -> None:
    objs = by_kind(render(desired(source_config={"resource_spec": {"min_scale": 2, "max_scale": 5}}), CONN, CTX))
    assert "replicas" not in objs["Deployment"]["spec"]
    assert objs["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 2
    assert objs["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 5
    assert objs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_revision_resource_spec_wins_over_deployment() -> None:
    d = desired(
        revision={"id": "r2", "image_uri": "x:2", "status": "QUEUED", "resource_spec": {"min_scale": 3, "max_scale": 3}}
    )
    assert by_kind(render(d, CONN, CTX))["Deployment"]["spec"]["replicas"] == 3


def test_ingress_path_class_and_tls() -> None:
    ing = by_kind(render(desired(), CONN, CTX))["Ingress"]["spec"]
    assert ing["ingressClassName"] == "nginx"
    assert ing["tls"] == [{"hosts": ["ls.example.com"], "secretName": "tls-cert"}]
    path = ing["rules"][0]["http"]["paths"][0]
    assert ing["rules"][0]["host"] == "ls.example.com" and path["path"] == "/base/lgp/agent"


def test_gateway_mode_renders_httproute() -> None:
    ctx = RenderContext(
        "cid", RouteConfig("ls.example.com", "", "gateway", gateway_name="gw", gateway_namespace="infra")
    )
    route = by_kind(render(desired(), CONN, ctx))["HTTPRoute"]
    assert route["spec"]["parentRefs"] == [{"name": "gw", "namespace": "infra"}]
    assert route["spec"]["rules"][0]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/lgp/agent"}


def test_hash_is_stable_and_changes_with_content() -> None:
    first, again = render(desired(), CONN, CTX), render(desired(), CONN, CTX)
    assert [applied_hash(o) for o in first] == [applied_hash(o) for o in again]
    changed = render(desired(secrets=[{"name": "OPENAI_API_KEY", "value": "sk-2"}]), CONN, CTX)
    # A secret change changes the Secret and, through the env hash, rolls the Deployment.
    assert applied_hash(changed[0]) != applied_hash(first[0])
    assert applied_hash(changed[1]) != applied_hash(first[1])
    assert applied_hash(changed[2]) == applied_hash(first[2])


def test_children_name_the_deployment_as_owner_once_known() -> None:
    objs = render(desired(), CONN, CTX, Owner("agent", "uid-1"))
    owned = [o for o in objs if o["kind"] not in ("Deployment", "Secret")]
    assert {o["kind"] for o in owned} == {"Service", "Ingress"}
    assert all(o["metadata"]["ownerReferences"][0]["uid"] == "uid-1" for o in owned)
    assert "ownerReferences" not in by_kind(objs)["Deployment"]["metadata"]
    # The env Secret is written before the Deployment exists and removed by the listener itself,
    # so it never changes (and is never rewritten) once the owner is known.
    assert "ownerReferences" not in by_kind(objs)["Secret"]["metadata"]
    assert applied_hash(by_kind(objs)["Secret"]) == applied_hash(render(desired(), CONN, CTX)[0])


def test_every_object_is_labelled_for_this_listener() -> None:
    for obj in render(desired(), CONN, CTX):
        assert obj["metadata"]["labels"][L.LISTENER] == "cid"
        assert obj["metadata"]["labels"][L.DEPLOYMENT_ID] == "d1"


def test_missing_revision_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no revision"):
        render(desired(revision=None), CONN, CTX)


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})


@pytest.mark.parametrize("min_scale, max_scale", [(1, 1), (1, 3), (2, 2), (2, 5)])
@pytest.mark.parametrize("route_kind", ["Ingress", "HTTPRoute"])
def test_owned_names_are_exactly_what_render_makes(min_scale: int, max_scale: int, route_kind: str) -> None:
    """The names looked up before a first creation are the objects the pass will write."""
    d = desired(source_config={"resource_spec": {"min_scale": min_scale, "max_scale": max_scale}})
    route = RouteConfig("ls.example.com", mode="gateway" if route_kind == "HTTPRoute" else "ingress", gateway_name="gw")
    rendered = render(d, CONN, RenderContext("cid", route))
    assert sorted(owned_names(d, route_kind)) == sorted((o["kind"], o["metadata"]["name"]) for o in rendered)
