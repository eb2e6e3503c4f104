"""Dedicated database mode on the local cluster (namespaces enforcing Pod Security "restricted"):
each agent's own Postgres StatefulSet and Redis, their passwords, their data's retention, and
their status."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import pytest
from harness.cluster import LocalCluster
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment, Revision
from lgcp_listener.configuration import DedicatedConfig, Retention
from lgcp_listener.databases.dedicated.mode import DedicatedMode
from lgcp_listener.kube.client import Kube
from lgcp_listener.objects import Manifest
from lgcp_listener.render.context import AgentConnections
from listener_support import RecordingControlPlane, Running, eventually, start_reconciler

pytestmark = pytest.mark.cluster

CONFIG = DedicatedConfig(postgres_storage_size="1Gi")


def agent(namespace: str, name: str | None = None) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": name or f"ded-{uuid.uuid4().hex[:6]}",
            "namespace": namespace,
            "status": "AWAITING_DATABASE",
            "source_config": {"resource_spec": {"cpu": 0.1, "memory_mb": 128}},
            "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-dedicated-test"}],
            "revision": {"id": str(uuid.uuid4()), "image_uri": "registry.test/agent:1", "status": "QUEUED"},
        }
    )


def exists(cluster: LocalCluster, kind: str, namespace: str, name: str) -> bool:
    return cluster.kubectl("get", kind, name, "-n", namespace, check=False).returncode == 0


def secret_data(cluster: LocalCluster, namespace: str, name: str) -> dict[str, str]:
    data = cluster.get_json("secret", name, "-n", namespace)["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def deployed(cp: RecordingControlPlane, d: DesiredDeployment) -> bool:
    return "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id)


def failure(cp: RecordingControlPlane, d: DesiredDeployment) -> str | None:
    return next(
        (m for r, s, m, _ in cp.revision_statuses if r == cast(Revision, d.revision).id and s == "DEPLOY_FAILED"), None
    )


@asynccontextmanager
async def one_agent(
    kube: Kube, namespace: str, retention: Retention = "delete"
) -> AsyncIterator[tuple[Running, RecordingControlPlane, DesiredDeployment]]:
    """A reconciler in dedicated mode with one agent DEPLOYED: (running, control plane, agent)."""
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, dedicated=CONFIG, retention=retention)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: deployed(cp, d), 180)
        yield running, cp, d
    finally:
        await running.stop()


async def delete_through_the_api(running: Running, cp: RecordingControlPlane, d: DesiredDeployment) -> None:
    running.reconciler.set_desired([d.model_copy(update={"deleting": True})])
    await eventually(lambda: d.id in cp.deleted_ids, 120)


def claim(cluster: LocalCluster, namespace: str, d: DesiredDeployment) -> dict[str, Any]:
    return cluster.get_json("pvc", f"data-{d.name}-postgres-0", "-n", namespace)


def kept(cluster: LocalCluster, namespace: str, d: DesiredDeployment, before: dict[str, Any]) -> bool:
    """The same volume claim as `before`, not being deleted."""
    now = claim(cluster, namespace, d)
    return now["metadata"]["uid"] == before["metadata"]["uid"] and "deletionTimestamp" not in now["metadata"]


async def test_create_makes_the_agents_own_databases_admitted_under_restricted(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    async with one_agent(kube, namespace) as (_running, cp, d):
        for kind, name in (
            ("statefulset", f"{d.name}-postgres"),
            ("statefulset", f"{d.name}-redis"),
            ("service", f"{d.name}-postgres"),
            ("service", f"{d.name}-redis"),
            ("networkpolicy", f"{d.name}-databases"),
            ("secret", f"{d.name}-db-credentials"),
            ("pvc", f"data-{d.name}-postgres-0"),
        ):
            assert exists(local_cluster, kind, namespace, name), (kind, name)
        # The namespace enforces "restricted": the database pods exist, so they were admitted.
        pods = local_cluster.get_json("pods", "-n", namespace, "-l", f"{L.DEPLOYMENT_ID}={d.id}")["items"]
        components = sorted(p["metadata"]["labels"][L.COMPONENT] for p in pods)
        assert components == ["langgraph-server", "postgres", "redis"]
        assert all(p["status"]["phase"] == "Running" for p in pods)
        # The agent's environment points at its own servers, with the stored passwords.
        env = secret_data(local_cluster, namespace, f"{d.name}-env")
        stored = secret_data(local_cluster, namespace, f"{d.name}-db-credentials")
        assert urlsplit(env["DATABASE_URI"]).hostname == f"{d.name}-postgres.{namespace}.svc"
        assert urlsplit(env["DATABASE_URI"]).password == stored["postgres-password"]
        assert urlsplit(env["REDIS_URI"]).hostname == f"{d.name}-redis.{namespace}.svc"
        assert urlsplit(env["REDIS_URI"]).password == stored["redis-password"]
        # Children of the agent's Deployment, except the data: the claim and the passwords.
        sts = local_cluster.get_json("statefulset", f"{d.name}-postgres", "-n", namespace)
        assert sts["metadata"]["ownerReferences"][0]["name"] == d.name
        assert (
            "ownerReferences"
            not in local_cluster.get_json("pvc", f"data-{d.name}-postgres-0", "-n", namespace)["metadata"]
        )
        assert (
            "ownerReferences"
            not in local_cluster.get_json("secret", f"{d.name}-db-credentials", "-n", namespace)["metadata"]
        )
        # READY only once the databases were, and reported before the revision was DEPLOYED.
        assert [s for i, s in cp.deployment_statuses if i == d.id] == ["AWAITING_DATABASE", "READY"]
        assert cp.statuses(cast(Revision, d.revision).id) == ["DEPLOYING", "DEPLOYED"]


async def test_two_agents_never_share_a_database(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, dedicated=CONFIG)
    try:
        a, b = agent(namespace), agent(namespace)
        running.reconciler.set_desired([a, b])
        await eventually(lambda: deployed(cp, a) and deployed(cp, b), 180)
        env_a = secret_data(local_cluster, namespace, f"{a.name}-env")
        env_b = secret_data(local_cluster, namespace, f"{b.name}-env")
        for key in ("DATABASE_URI", "REDIS_URI"):
            uri_a, uri_b = urlsplit(env_a[key]), urlsplit(env_b[key])
            assert uri_a.hostname != uri_b.hostname and uri_a.password != uri_b.password, key
        volumes = {
            local_cluster.get_json("pvc", f"data-{d.name}-postgres-0", "-n", namespace)["spec"]["volumeName"]
            for d in (a, b)
        }
        assert len(volumes) == 2
    finally:
        await running.stop()


class CrashOnceAfterTheEnvSecret(DedicatedMode):
    """Fails once right after the env Secret (with the new passwords) was written, as a killed
    listener would, before the credentials Secret exists."""

    crashed = False
    databases_before_credentials: ClassVar[list[Manifest | None]] = []

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        # No database pod may start before its passwords are stored: no StatefulSet exists yet.
        for name in (f"{desired.name}-postgres", f"{desired.name}-redis"):
            self.databases_before_credentials.append(await self.kube.get("StatefulSet", desired.namespace, name))
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("simulated crash between the env Secret and the credentials Secret")
        await super().provision(desired, conn)


async def test_passwords_survive_a_crash_and_a_restart(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    running = await start_reconciler(
        kube, namespace, cp, compute_id=compute_id, dedicated=CONFIG, mode_class=CrashOnceAfterTheEnvSecret
    )
    crashing = running.reconciler.mode
    assert isinstance(crashing, CrashOnceAfterTheEnvSecret)
    d = agent(namespace)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: deployed(cp, d), 180)
        assert crashing.crashed and crashing.databases_before_credentials == [None] * 4
        stored = secret_data(local_cluster, namespace, f"{d.name}-db-credentials")
        env = secret_data(local_cluster, namespace, f"{d.name}-env")
        # The retry found the passwords already given to the env Secret and stored those.
        assert urlsplit(env["DATABASE_URI"]).password == stored["postgres-password"]
        assert urlsplit(env["REDIS_URI"]).password == stored["redis-password"]
        await running.idle()
    finally:
        await running.stop()
    # A new process reads the passwords back instead of inventing others, and writes nothing.
    running = await start_reconciler(kube, namespace, RecordingControlPlane(), compute_id=compute_id, dedicated=CONFIG)
    try:
        writes = kube.writes
        running.reconciler.set_desired([d.model_copy(update={"status": "READY"})])
        await running.idle()
        assert secret_data(local_cluster, namespace, f"{d.name}-db-credentials") == stored
        assert secret_data(local_cluster, namespace, f"{d.name}-env") == env
        assert kube.writes == writes
    finally:
        await running.stop()


async def test_drift_of_a_database_is_repaired(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    async with one_agent(kube, namespace) as (_running, _cp, d):
        local_cluster.kubectl(
            "set", "image", f"statefulset/{d.name}-postgres", "postgres=evil/postgres:1", "-n", namespace
        )
        await eventually(
            lambda: (
                local_cluster.get_json("statefulset", f"{d.name}-postgres", "-n", namespace)["spec"]["template"][
                    "spec"
                ]["containers"][0]["image"]
                == "postgres:16.4"
            ),
            30,
        )
        local_cluster.kubectl("delete", "statefulset", f"{d.name}-redis", "-n", namespace)
        await eventually(lambda: exists(local_cluster, "statefulset", namespace, f"{d.name}-redis"), 30)
        local_cluster.kubectl("delete", "networkpolicy", f"{d.name}-databases", "-n", namespace)
        await eventually(lambda: exists(local_cluster, "networkpolicy", namespace, f"{d.name}-databases"), 30)
        # The passwords' Secret comes back with the same passwords (the running databases have them).
        credentials = f"{d.name}-db-credentials"
        before = local_cluster.get_json("secret", credentials, "-n", namespace)["data"]
        local_cluster.kubectl("delete", "secret", credentials, "-n", namespace)
        await eventually(lambda: exists(local_cluster, "secret", namespace, credentials), 30)
        assert local_cluster.get_json("secret", credentials, "-n", namespace)["data"] == before


async def test_api_deletion_with_retention_delete_removes_the_volume_and_passwords(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    async with one_agent(kube, namespace, retention="delete") as (running, cp, d):
        await delete_through_the_api(running, cp, d)
        await eventually(lambda: not exists(local_cluster, "pvc", namespace, f"data-{d.name}-postgres-0"), 60)
        for kind, name in (
            ("secret", f"{d.name}-db-credentials"),
            ("statefulset", f"{d.name}-postgres"),
            ("statefulset", f"{d.name}-redis"),
            ("service", f"{d.name}-postgres"),
            ("networkpolicy", f"{d.name}-databases"),
            ("secret", f"{d.name}-env"),
        ):
            assert not exists(local_cluster, kind, namespace, name), (kind, name)


async def test_retention_retain_keeps_the_volume_and_never_hands_it_to_another_deployment(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    async with one_agent(kube, namespace, retention="retain") as (running, cp, d):
        before = claim(local_cluster, namespace, d)
        await delete_through_the_api(running, cp, d)
        assert not exists(local_cluster, "statefulset", namespace, f"{d.name}-postgres")
        assert kept(local_cluster, namespace, d, before)
        assert exists(local_cluster, "secret", namespace, f"{d.name}-db-credentials")
        # A new deployment of the same name is refused, not given the old one's data.
        again = agent(namespace, name=d.name)
        running.reconciler.set_desired([again])
        await eventually(lambda: failure(cp, again), 60)
        assert f"PersistentVolumeClaim/data-{d.name}-postgres-0" in cast(str, failure(cp, again))
        assert not exists(local_cluster, "deployment", namespace, d.name)


async def test_an_orphan_loses_its_objects_but_keeps_its_volume_and_gets_it_back(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    async with one_agent(kube, namespace, retention="delete") as (running, cp, d):
        before = claim(local_cluster, namespace, d)
        stored = secret_data(local_cluster, namespace, f"{d.name}-db-credentials")
        # The desired state stops naming it without a deletion (a changed key or registration).
        running.reconciler.set_desired([])
        await eventually(
            lambda: (
                not exists(local_cluster, "deployment", namespace, d.name)
                and not exists(local_cluster, "statefulset", namespace, f"{d.name}-postgres")
            ),
            60,
        )
        await running.idle()
        assert kept(local_cluster, namespace, d, before)
        assert secret_data(local_cluster, namespace, f"{d.name}-db-credentials") == stored
        # Named again (the misconfiguration fixed): the same volume, the same passwords.
        back = d.model_copy(
            update={"revision": cast(Revision, d.revision).model_copy(update={"id": str(uuid.uuid4())})}
        )
        running.reconciler.set_desired([back])
        await eventually(lambda: deployed(cp, back), 180)
        assert kept(local_cluster, namespace, d, before)
        env = secret_data(local_cluster, namespace, f"{d.name}-env")
        assert urlsplit(env["DATABASE_URI"]).password == stored["postgres-password"]


async def test_a_database_image_that_cannot_be_pulled_fails_the_revision_naming_the_database(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    broken = DedicatedConfig(
        postgres_storage_size="1Gi", postgres_image="registry.test/lgcp-fail-image-pull-postgres:16"
    )
    running = await start_reconciler(kube, namespace, cp, compute_id=compute_id, dedicated=broken)
    d = agent(namespace)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: failure(cp, d), 60)
        message = failure(cp, d)
        assert message is not None
        assert "database postgres" in message and "image pull failure" in message, message
        assert "DEPLOYED" not in cp.statuses(cast(Revision, d.revision).id)
        assert [s for i, s in cp.deployment_statuses if i == d.id] == ["AWAITING_DATABASE"]
    finally:
        await running.stop()
    # The setting fixed: the stuck pod is replaced (Parallel pod management) and it deploys.
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp, compute_id=compute_id, dedicated=CONFIG)
    try:
        fixed = d.model_copy(
            update={"revision": cast(Revision, d.revision).model_copy(update={"id": str(uuid.uuid4())})}
        )
        running.reconciler.set_desired([fixed])
        await eventually(lambda: deployed(cp, fixed), 180)
        assert [s for i, s in cp.deployment_statuses if i == d.id][-1] == "READY"
    finally:
        await running.stop()
