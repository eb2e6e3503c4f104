"""Dedicated database mode, the pure parts: what is rendered for an agent's own Postgres and Redis,
and how their readiness joins the agent's rollout."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import DedicatedConfig, RouteConfig
from lgcp_listener.databases.dedicated.connections import DedicatedAgentConnections
from lgcp_listener.databases.dedicated.names import database_uri, owned_names, redis_uri, volume_claim_name
from lgcp_listener.databases.dedicated.objects import credentials_secret, database_objects, live_claim
from lgcp_listener.databases.dedicated.readiness import databases_rollout
from lgcp_listener.objects import Manifest
from lgcp_listener.render.agent import render as render_agent
from lgcp_listener.render.context import AgentConnections, Owner, RenderContext
from lgcp_listener.render.hashing import applied_hash
from lgcp_listener.render.preview import redacted
from lgcp_listener.status.rollout import Rollout, combine

PG_PASSWORD, REDIS_PASSWORD = "pg-secret-value-123", "redis-secret-value-456"
CONFIG = DedicatedConfig(postgres_storage_class="fast", image_pull_secrets=("mirror",))
RCTX = RenderContext("cid", RouteConfig("ls.example.com"))
CTX = (RCTX, CONFIG)


def render(
    d: DesiredDeployment,
    c: AgentConnections,
    ctx: RenderContext | tuple[RenderContext, DedicatedConfig],
    owner: Owner | None = None,
) -> list[Manifest]:
    """The agent's objects, with its own databases' when `ctx` carries a DedicatedConfig, as the
    reconcile step renders them (`DedicatedMode.objects` handed to `render`)."""
    if isinstance(ctx, RenderContext):
        return render_agent(d, c, ctx, owner)
    render_ctx, config = ctx
    assert isinstance(c, DedicatedAgentConnections)
    return render_agent(d, c, render_ctx, owner, database_objects=database_objects(d, c, render_ctx, config, owner))


def desired(name: str = "agent", deployment_id: str = "d1") -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": deployment_id,
            "name": name,
            "namespace": "agents",
            "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "QUEUED"},
        }
    )


def conn(d: DesiredDeployment | None = None, **extra: Any) -> DedicatedAgentConnections:
    d = d or desired()
    return DedicatedAgentConnections(
        database_uri(d, PG_PASSWORD),
        redis_uri(d, REDIS_PASSWORD),
        postgres_password=PG_PASSWORD,
        redis_password=REDIS_PASSWORD,
        **extra,
    )


OWNER = Owner("agent", "uid-1")


def objects(owner: Owner | None = OWNER, **extra: Any) -> dict[tuple[str, str], Manifest]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render(desired(), conn(**extra), CTX, owner)}


def pods() -> list[Manifest]:
    found = objects()
    return [
        found[("StatefulSet", "agent-postgres")]["spec"]["template"],
        found[("StatefulSet", "agent-redis")]["spec"]["template"],
    ]


def test_renders_the_agents_own_databases_after_its_own_objects() -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in render(desired(), conn(), CTX)]
    assert kinds == [
        ("Secret", "agent-env"),
        ("Deployment", "agent"),
        ("Service", "agent"),
        ("Ingress", "agent"),
        ("Secret", "agent-db-credentials"),
        ("Service", "agent-postgres"),
        ("StatefulSet", "agent-postgres"),
        ("Service", "agent-redis"),
        ("StatefulSet", "agent-redis"),
        ("NetworkPolicy", "agent-databases"),
    ]
    # Nothing of the kind without dedicated mode.
    plain = RenderContext("cid", RouteConfig("ls.example.com"))
    assert {o["kind"] for o in render(desired(), conn(), plain)} == {"Secret", "Deployment", "Service", "Ingress"}


def test_env_secret_points_the_agent_at_its_own_servers() -> None:
    env = {k: base64.b64decode(v).decode() for k, v in objects()[("Secret", "agent-env")]["data"].items()}
    database, redis = urlsplit(env["DATABASE_URI"]), urlsplit(env["REDIS_URI"])
    assert env["POSTGRES_URI"] == env["DATABASE_URI"]
    assert (database.hostname, database.port, database.password) == ("agent-postgres.agents.svc", 5432, PG_PASSWORD)
    assert (redis.hostname, redis.port, redis.password, redis.path) == (
        "agent-redis.agents.svc",
        6379,
        REDIS_PASSWORD,
        "/0",
    )


def test_every_database_pod_passes_pod_security_restricted() -> None:
    for template in pods():
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["securityContext"]["fsGroup"] == 999, "the volume must be writable by the image's user"
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
        assert all(set(volume) <= {"name", "emptyDir"} for volume in pod["volumes"]), "no hostPath or the like"
        assert pod["imagePullSecrets"] == [{"name": "mirror"}]


def test_postgres_is_one_replica_with_a_retained_claim_and_pg_isready_probes() -> None:
    sts = objects()[("StatefulSet", "agent-postgres")]["spec"]
    assert sts["replicas"] == 1 and sts["serviceName"] == "agent-postgres"
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi" and claim["spec"]["storageClassName"] == "fast"
    assert claim["metadata"]["labels"][L.DEPLOYMENT_ID] == "d1", "drop() and the name check read it on the claim"
    assert f"{claim['metadata']['name']}-agent-postgres-0" == volume_claim_name("agent")
    container = sts["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGDATA"]["value"].startswith(container["volumeMounts"][0]["mountPath"] + "/")
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "agent-db-credentials",
        "key": "postgres-password",
    }
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "pg_isready"
    assert container["image"] == "postgres:16.4"


def test_redis_requires_its_password_and_keeps_nothing_on_disk() -> None:
    sts = objects()[("StatefulSet", "agent-redis")]["spec"]
    assert "volumeClaimTemplates" not in sts
    container = sts["template"]["spec"]["containers"][0]
    assert '--requirepass "$REDISCLI_AUTH"' in container["command"][-1]
    assert container["env"] == [
        {
            "name": "REDISCLI_AUTH",
            "valueFrom": {"secretKeyRef": {"name": "agent-db-credentials", "key": "redis-password"}},
        }
    ]
    assert container["image"] == "redis:7.4"


def test_passwords_are_only_in_the_secrets_and_never_in_the_preview() -> None:
    rendered = render(desired(), conn(), CTX, Owner("agent", "uid-1"))
    for obj in rendered:
        text = json.dumps(obj)
        if obj["kind"] != "Secret":
            assert PG_PASSWORD not in text and REDIS_PASSWORD not in text, obj["kind"]
    credentials = credentials_secret(desired(), conn(), RCTX)
    assert base64.b64decode(credentials["data"]["postgres-password"]).decode() == PG_PASSWORD
    assert base64.b64decode(credentials["data"]["redis-password"]).decode() == REDIS_PASSWORD
    shown = json.dumps(redacted(rendered))
    assert PG_PASSWORD not in shown and REDIS_PASSWORD not in shown
    encoded = base64.b64encode(PG_PASSWORD.encode()).decode()
    assert encoded not in shown
    assert PG_PASSWORD not in repr(conn()) and REDIS_PASSWORD not in repr(conn())


def test_children_are_owned_by_the_agent_but_the_data_is_not() -> None:
    found = objects()
    for key in [
        ("Service", "agent-postgres"),
        ("StatefulSet", "agent-postgres"),
        ("Service", "agent-redis"),
        ("StatefulSet", "agent-redis"),
        ("NetworkPolicy", "agent-databases"),
    ]:
        assert found[key]["metadata"]["ownerReferences"][0]["uid"] == "uid-1", key
    # The passwords go with the volume, not with the Deployment: an orphan keeps both.
    credentials = credentials_secret(desired(), conn(), RCTX)
    assert "ownerReferences" not in credentials["metadata"]
    assert credentials["metadata"]["labels"][L.DEPLOYMENT_ID] == "d1"


def test_every_object_carries_the_listeners_labels_and_applied_hash() -> None:
    for obj in objects().values():
        labels = obj["metadata"]["labels"]
        assert (
            labels[L.MANAGED_BY] == "lgcp-listener" and labels[L.LISTENER] == "cid" and labels[L.DEPLOYMENT_ID] == "d1"
        )
        assert applied_hash(obj)


def test_only_the_agents_own_pods_may_reach_its_databases() -> None:
    policy = objects()[("NetworkPolicy", "agent-databases")]["spec"]
    assert policy["podSelector"]["matchLabels"] == {L.DEPLOYMENT_ID: "d1"}
    assert policy["podSelector"]["matchExpressions"][0]["values"] == ["postgres", "redis"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {L.DEPLOYMENT_ID: "d1", L.COMPONENT: "langgraph-server"}}}]
    assert policy["egress"] == [] and policy["policyTypes"] == ["Ingress", "Egress"]


def test_two_agents_get_different_servers_and_names() -> None:
    a, b = desired("one", "d1"), desired("two", "d2")
    assert database_uri(a, "p") != database_uri(b, "p") and redis_uri(a, "p") != redis_uri(b, "p")
    assert not set(owned_names("one")) & set(owned_names("two"))


def test_names_fit_kubernetes_limits_for_the_longest_agent_name() -> None:
    name = "a" * 40  # the API's limit
    for kind, object_name in owned_names(name):
        # StatefulSet names also become pod label values with a hash suffix (controller-revision-hash).
        assert len(object_name) <= (52 if kind == "StatefulSet" else 63), (kind, object_name)


def test_a_live_claim_template_is_kept_when_the_settings_change() -> None:
    """volumeClaimTemplates cannot change: an existing agent keeps the size and class it has."""
    first = objects(None)[("StatefulSet", "agent-postgres")]
    claim = live_claim(first)
    bigger = DedicatedConfig(postgres_storage_size="50Gi")
    ctx = (RCTX, bigger)
    kept = {o["metadata"]["name"]: o for o in render(desired(), conn(postgres_claim=claim), ctx)}["agent-postgres"]
    assert kept["spec"]["volumeClaimTemplates"] == first["spec"]["volumeClaimTemplates"]
    new = {o["metadata"]["name"]: o for o in render(desired("other"), conn(desired("other")), ctx)}["other-postgres"]
    assert new["spec"]["volumeClaimTemplates"][0]["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "50Gi"}},
    }
    # The same settings give the same hash whether the claim was read back or not (no rewrite on restart).
    assert applied_hash(first) == applied_hash(
        {o["metadata"]["name"]: o for o in render(desired(), conn(postgres_claim=claim), CTX)}["agent-postgres"]
    )


def statefulset(
    ready: int = 1, generation: int = 1, observed: int = 1, current: str = "r1", update: str = "r1"
) -> Manifest:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": observed,
            "readyReplicas": ready,
            "currentRevision": current,
            "updateRevision": update,
        },
    }


def pod(component: str, reason: str | None = None) -> Manifest:
    waiting = {"reason": reason, "message": "Back-off pulling image"} if reason else None
    return {
        "metadata": {"name": f"agent-{component}-0", "labels": {L.COMPONENT: component}},
        "status": {
            "containerStatuses": [{"name": component, "state": {"waiting": waiting} if waiting else {"running": {}}}]
        },
    }


@pytest.mark.parametrize(
    "postgres, redis, pod_list, state, words",
    [
        (statefulset(), statefulset(), [pod("postgres"), pod("redis")], "complete", "databases ready"),
        (None, statefulset(), [], "progressing", "database postgres: StatefulSet not created yet"),
        (statefulset(ready=0), statefulset(), [pod("postgres")], "progressing", "database postgres: 0 of 1 pods ready"),
        (
            statefulset(),
            statefulset(generation=2),
            [],
            "progressing",
            "database redis: waiting for the StatefulSet controller",
        ),
        (statefulset(), statefulset(update="r2"), [], "progressing", "database redis: rolling update in progress"),
        (
            statefulset(ready=0),
            statefulset(),
            [pod("postgres", "ImagePullBackOff")],
            "failed",
            "database postgres (StatefulSet agent-postgres): image pull failure (ImagePullBackOff)",
        ),
        (statefulset(), statefulset(ready=0), [pod("redis", "CrashLoopBackOff")], "failed", "database redis"),
    ],
)
def test_database_rollout(
    postgres: Manifest | None, redis: Manifest | None, pod_list: list[Manifest], state: str, words: str
) -> None:
    found = {"agent-postgres": postgres, "agent-redis": redis}
    result = databases_rollout(desired(), found.get, pod_list)
    assert result.state == state and words in result.message


def test_the_agent_is_complete_only_with_its_databases_and_their_failure_comes_first() -> None:
    done, waiting = (
        Rollout("complete", "1 replicas available"),
        Rollout("progressing", "database redis: 0 of 1 pods ready"),
    )
    assert combine(done, Rollout("complete", "databases ready")) == done
    assert combine(done, waiting) == waiting
    failed = combine(
        Rollout("failed", "crash loop (CrashLoopBackOff)"), Rollout("failed", "database postgres: image pull")
    )
    assert failed.state == "failed" and failed.message.startswith("database postgres: image pull; crash loop")
    assert combine(Rollout("progressing", "0 of 1"), Rollout("failed", "database redis: x")).state == "failed"
