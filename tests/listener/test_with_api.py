"""The listener process against the real API process, Postgres, Redis and the local cluster."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from harness.redis import RedisServer, start_redis
from lgcp_contract import labels as L
from lgcp_listener.databases.shared.identifiers import identifier
from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster


async def test_create_update_rollback_delete(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    deployment = await stack.create()
    first = await stack.wait_revision(deployment, "DEPLOYED")
    assert stack.exists("deployment", deployment["name"]) and stack.exists("ingress", deployment["name"])
    pods = stack.pods(deployment)
    assert len(pods) == 1 and pods[0]["spec"]["containers"][0]["image"] == "registry.test/agent:1"
    assert (await stack.admin.get(f"/deployments/{deployment['id']}")).json()["active_revision_id"] == first["id"]
    logs = (await stack.admin.get(f"/deployments/{deployment['id']}/revisions/{first['id']}/logs")).json()["resources"]
    assert {"Listener", "Normal"} <= {line["type"] for line in logs}, "the listener's steps and Kubernetes events"

    # Update: a new image is a new revision, and the pods roll to it.
    response = await stack.admin.patch(
        f"/deployments/{deployment['id']}", json={"source_revision_config": {"image_uri": "registry.test/agent:2"}}
    )
    assert response.status_code == 200, response.text
    second = await stack.wait_revision(deployment, "DEPLOYED")
    assert second["id"] != first["id"]
    await eventually(
        lambda: [p["spec"]["containers"][0]["image"] for p in stack.pods(deployment)] == ["registry.test/agent:2"], 30
    )

    # Rollback: redeploying the first revision runs its image again.
    response = await stack.admin.post(f"/deployments/{deployment['id']}/revisions/{first['id']}/redeploy")
    assert response.status_code == 201, response.text
    await stack.wait_revision(deployment, "DEPLOYED", response.json()["id"])
    await eventually(
        lambda: [p["spec"]["containers"][0]["image"] for p in stack.pods(deployment)] == ["registry.test/agent:1"], 30
    )

    # Delete: the API forgets it once the listener removed everything.
    assert (await stack.admin.delete(f"/deployments/{deployment['id']}")).status_code == 204

    async def forgotten() -> bool:
        return (await stack.admin.get(f"/deployments/{deployment['id']}")).status_code == 404

    await eventually(forgotten, 60)
    for kind, name in (
        ("deployment", deployment["name"]),
        ("service", deployment["name"]),
        ("ingress", deployment["name"]),
        ("secret", deployment["name"] + "-env"),
    ):
        assert not stack.exists(kind, name), kind
    assert stack.pods(deployment) == []
    assert "sk-" not in stack.listeners[0].output()  # the agent's secret value is never logged
    conn = await asyncpg.connect(stack.admin_db)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", identifier(deployment["id"]))
            == 0
        )
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "image, reason",
    [
        ("registry.test/lgcp-fail-image-pull:1", "image pull failure"),
        ("registry.test/lgcp-fail-crashloop:1", "crash loop"),
    ],
)
async def test_failing_image_ends_in_deploy_failed_with_reason(stack: Stack, image: str, reason: str) -> None:
    stack.start()
    await stack.registered()
    deployment = await stack.create(image=image)
    revision = await stack.wait_revision(deployment, "DEPLOY_FAILED")
    assert reason in revision["status_message"]


async def test_killed_mid_reconcile_converges_after_restart_without_duplicates_or_orphans(stack: Stack) -> None:
    first = stack.start()
    await stack.registered()
    deployments = [await stack.create() for _ in range(4)]
    # Kill it as soon as it started writing, before everything converged.
    await eventually(lambda: any(stack.exists("deployment", d["name"]) for d in deployments), 30, interval=0.05)
    first.kill()
    stack.start()
    for d in deployments:
        await stack.wait_revision(d, "DEPLOYED")
    listed = stack.cluster.get_json("deployments", "-n", stack.namespace, "-l", L.owned_selector(stack.compute_id))[
        "items"
    ]
    assert sorted(item["metadata"]["name"] for item in listed) == sorted(d["name"] for d in deployments)
    conn = await asyncpg.connect(stack.admin_db)
    try:
        numbers = await conn.fetch("SELECT deployment_id, db_number FROM lgcp_listener_redis_databases")
        assert sorted(r["deployment_id"] for r in numbers) == sorted(d["id"] for d in deployments)
        assert len({r["db_number"] for r in numbers}) == len(deployments)
        names = [identifier(d["id"]) for d in deployments]
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names) == len(
            deployments
        )
    finally:
        await conn.close()


async def test_two_listeners_only_the_leader_writes_and_the_standby_takes_over(stack: Stack) -> None:
    leader = stack.start()
    await stack.registered()
    standby = stack.start()
    deployment = await stack.create()
    await stack.wait_revision(deployment, "DEPLOYED")
    assert leader.metric("lgcp_listener_is_leader") == 1 and standby.metric("lgcp_listener_is_leader") == 0
    assert leader.ready() and standby.ready()  # a standby is healthy; it just does not write
    assert standby.metric("lgcp_listener_kubernetes_writes_total") == 0
    leader.kill()
    await eventually(lambda: standby.metric("lgcp_listener_is_leader") == 1, 50)  # expiry: >= 60 s
    second = await stack.create()
    await stack.wait_revision(second, "DEPLOYED")
    assert standby.metric("lgcp_listener_kubernetes_writes_total") > 0


async def test_changes_converge_through_resync_while_redis_is_down(stack: Stack, redis_server: RedisServer) -> None:
    own = start_redis()
    try:
        stack.start(LGCP_LISTENER_REDIS_URL=own.url(0), LGCP_LISTENER_RESYNC_SECONDS="2")
        await stack.registered()
        own.stop()
        deployment = await stack.create()
        await stack.wait_revision(deployment, "DEPLOYED", within=60)
    finally:
        own.stop()


async def test_drift_is_put_back(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    deployment = await stack.create()
    await stack.wait_revision(deployment, "DEPLOYED")
    stack.cluster.kubectl("delete", "service", deployment["name"], "-n", stack.namespace)
    await eventually(lambda: stack.exists("service", deployment["name"]), 15)
    stack.cluster.kubectl("scale", f"deployment/{deployment['name']}", "--replicas=3", "-n", stack.namespace)
    await eventually(
        lambda: (
            stack.cluster.get_json("deployment", deployment["name"], "-n", stack.namespace)["spec"]["replicas"] == 1
        ),
        15,
    )


async def test_two_agents_never_share_a_database_or_redis_number(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    a, b = await stack.create(), await stack.create()
    await stack.wait_revision(a, "DEPLOYED")
    await stack.wait_revision(b, "DEPLOYED")
    uris = []
    for d in (a, b):
        data = stack.cluster.get_json("secret", d["name"] + "-env", "-n", stack.namespace)["data"]
        uris.append({k: base64.b64decode(data[k]).decode() for k in ("DATABASE_URI", "REDIS_URI")})
    assert urlsplit(uris[0]["DATABASE_URI"]).path != urlsplit(uris[1]["DATABASE_URI"]).path
    assert urlsplit(uris[0]["REDIS_URI"]).path != urlsplit(uris[1]["REDIS_URI"]).path


async def test_a_notification_wakes_the_listener_without_waiting_for_the_resync(stack: Stack) -> None:
    listener = stack.start(LGCP_LISTENER_RESYNC_SECONDS="3600")
    await stack.registered()
    # Ready = registered, synced and the first desired state read: from here on only the stream
    # can tell it about a new deployment (the next resync is an hour away).
    await eventually(listener.ready, 30)
    deployment = await stack.create()
    await stack.wait_revision(deployment, "DEPLOYED", within=30)


async def test_a_newer_revision_interrupts_one_still_deploying(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    # More CPU than a node has: the pod stays Pending, so the revision stays DEPLOYING.
    deployment = await stack.create(cpu=48, cpu_limit=48)
    first = await stack.wait_revision(deployment, "DEPLOYING")
    response = await stack.admin.patch(
        f"/deployments/{deployment['id']}",
        json={
            "source_revision_config": {"image_uri": "registry.test/agent:3"},
            "source_config": {"resource_spec": {"cpu": 0.1, "cpu_limit": 0.1}},
        },
    )
    assert response.status_code == 200, response.text
    await stack.wait_revision(deployment, "DEPLOYED")
    assert (await stack.revision(deployment, first["id"]))["status"] == "INTERRUPTED"
    await eventually(
        lambda: [p["spec"]["containers"][0]["image"] for p in stack.pods(deployment)] == ["registry.test/agent:3"], 30
    )


async def test_a_stopped_leader_hands_over_at_once(stack: Stack) -> None:
    # A lease far longer than the test waits: only a release lets the standby in this soon.
    leader = stack.start(LGCP_LISTENER_LEASE_DURATION_SECONDS="90")
    await stack.registered()
    standby = stack.start(LGCP_LISTENER_LEASE_DURATION_SECONDS="90")
    await eventually(lambda: leader.metric("lgcp_listener_is_leader") == 1, 10)
    leader.stop()  # SIGTERM, as when Kubernetes deletes the pod
    assert leader.proc.returncode == 0
    await eventually(lambda: standby.metric("lgcp_listener_is_leader") == 1, 50)  # expiry: >= 60 s


async def test_manifests_preview_is_what_the_cluster_runs_without_secret_values(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    deployment = await stack.create(min_scale=2, max_scale=3)
    revision = await stack.wait_revision(deployment, "DEPLOYED")
    response = await stack.admin.get(f"/deployments/{deployment['id']}/manifests")
    assert response.status_code == 200, response.text
    assert response.json()["revision_id"] == revision["id"]
    preview = {(m["kind"], m["metadata"]["name"]): m for m in response.json()["manifests"]}
    live = {
        (o["kind"], o["metadata"]["name"]): o
        for o in stack.cluster.get_json(
            "secret,deployment,service,ingress,hpa,pdb",
            "-n",
            stack.namespace,
            "-l",
            f"{L.DEPLOYMENT_ID}={deployment['id']}",
        )["items"]
    }
    name = deployment["name"]
    assert (
        set(preview)
        == set(live)
        == {
            ("Secret", f"{name}-env"),
            ("Deployment", name),
            ("Service", name),
            ("Ingress", name),
            ("HorizontalPodAutoscaler", name),
            ("PodDisruptionBudget", name),
        }
    )
    for key, obj in preview.items():  # the very objects applied: same applied-hash
        assert obj["metadata"]["annotations"][L.APPLIED_HASH] == live[key]["metadata"]["annotations"][L.APPLIED_HASH], (
            key
        )
    image: Callable[[dict[str, Any]], str] = lambda d: d["spec"]["template"]["spec"]["containers"][0]["image"]  # noqa: E731
    assert image(preview[("Deployment", name)]) == image(live[("Deployment", name)]) == "registry.test/agent:1"
    path: Callable[[dict[str, Any]], str] = lambda i: i["spec"]["rules"][0]["http"]["paths"][0]["path"]  # noqa: E731
    assert path(preview[("Ingress", name)]) == path(live[("Ingress", name)]) == f"/lgp/{name}"
    secret = live[("Secret", f"{name}-env")]["data"]
    assert set(preview[("Secret", f"{name}-env")]["data"]) == set(secret)
    assert set(preview[("Secret", f"{name}-env")]["data"].values()) == {"<redacted>"}
    for encoded in secret.values():
        assert encoded not in response.text and base64.b64decode(encoded).decode() not in response.text
