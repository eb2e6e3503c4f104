"""The reconciler against the local cluster's real API server (Pod Security "restricted" namespace)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, cast

import pytest
from harness.cluster import LocalCluster
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment, Revision, SecretReference
from lgcp_listener.control_plane.client import ControlPlaneError
from lgcp_listener.kube.client import Kube
from lgcp_listener.objects import Manifest
from listener_support import RecordingControlPlane, eventually, start_reconciler

pytestmark = pytest.mark.cluster


def agent(
    namespace: str, image: str = "registry.test/agent:1", revision: str | None = None, **spec: Any
) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": f"agent-{uuid.uuid4().hex[:6]}",
            "namespace": namespace,
            "status": "READY",
            "source_config": {"resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128, **spec}},
            "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-test"}],
            "revision": {"id": revision or str(uuid.uuid4()), "image_uri": image, "status": "QUEUED"},
        }
    )


def with_revision(d: DesiredDeployment, image: str) -> DesiredDeployment:
    data = d.model_dump()
    data["secrets"] = [{"name": s.name, "value": s.value.get_secret_value()} for s in d.secrets]
    data["revision"] = {"id": str(uuid.uuid4()), "image_uri": image, "status": "QUEUED"}
    return DesiredDeployment.model_validate(data)


def exists(cluster: LocalCluster, kind: str, namespace: str, name: str) -> bool:
    return cluster.kubectl("get", kind, name, "-n", namespace, check=False).returncode == 0


async def test_create_makes_objects_admitted_under_restricted_and_reports_deployed(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        assert cp.statuses(cast(Revision, d.revision).id) == ["DEPLOYING", "DEPLOYED"]
        for kind in ("secret", "deployment", "service", "ingress"):
            name = f"{d.name}-env" if kind == "secret" else d.name
            assert exists(local_cluster, kind, namespace, name), kind
        pods = local_cluster.get_json("pods", "-n", namespace, "-l", f"{L.DEPLOYMENT_ID}={d.id}")["items"]
        assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running"
        service = local_cluster.get_json("service", d.name, "-n", namespace)
        assert service["metadata"]["ownerReferences"][0]["name"] == d.name
        # The env Secret is the listener's to delete (it exists before the Deployment does).
        secret = local_cluster.get_json("secret", f"{d.name}-env", "-n", namespace)
        assert "ownerReferences" not in secret["metadata"]
        managers = {
            m["manager"]
            for m in local_cluster.get_json("deployment", d.name, "-n", namespace, "--show-managed-fields")["metadata"][
                "managedFields"
            ]
        }
        assert "lgcp-listener" in managers
        deploying_events = next(e for r, s, _, e in cp.revision_statuses if s == "DEPLOYING")
        assert [e["type"] for e in deploying_events] == ["Listener"]
        assert "registry.test/agent:1" in deploying_events[0]["message"]
        deployed_events = next(e for r, s, _, e in cp.revision_statuses if s == "DEPLOYED")
        assert any(e["object"].startswith("Pod/") and e["type"] != "Listener" for e in deployed_events)
        assert deployed_events[-1]["type"] == "Listener"
        # The last preview is what ended up applied: its children name the Deployment as owner.
        deployment_id, revision_id, manifests = cp.previews[-1]
        assert (deployment_id, revision_id) == (d.id, cast(Revision, d.revision).id)
        assert [m["kind"] for m in manifests] == ["Secret", "Deployment", "Service", "Ingress"]
        assert manifests[2]["metadata"]["ownerReferences"] == service["metadata"]["ownerReferences"]
        assert manifests[0]["data"]["OPENAI_API_KEY"] == "<redacted>"
    finally:
        await running.stop()


async def test_resync_of_unchanged_deployments_writes_nothing(namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        ds = [agent(namespace) for _ in range(3)]
        running.reconciler.set_desired(ds)
        await eventually(lambda: all("DEPLOYED" in cp.statuses(cast(Revision, d.revision).id) for d in ds), 60)
        await running.idle()
        before, previews = kube.writes, len(cp.previews)
        running.reconciler.set_desired(ds)
        await running.idle()
        assert kube.writes == before
        assert len(cp.previews) == previews, "an unchanged rendering is not reported again"
    finally:
        await running.stop()


async def test_drift_is_repaired(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        local_cluster.kubectl("delete", "service", d.name, "-n", namespace)
        await eventually(lambda: exists(local_cluster, "service", namespace, d.name), 15)
        local_cluster.kubectl("set", "image", f"deployment/{d.name}", "langgraph-server=evil/image:1", "-n", namespace)
        await eventually(
            lambda: (
                local_cluster.get_json("deployment", d.name, "-n", namespace)["spec"]["template"]["spec"]["containers"][
                    0
                ]["image"]
                == "registry.test/agent:1"
            ),
            15,
        )
        # The env Secret too: an edited value is put back, a deleted Secret comes back.
        secret_name = f"{d.name}-env"
        local_cluster.kubectl(
            "patch",
            "secret",
            secret_name,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"stringData": {"OPENAI_API_KEY": "sk-tampered"}}',
        )

        def secret_value() -> str | None:
            found = local_cluster.kubectl(
                "get", "secret", secret_name, "-n", namespace, "-o", "jsonpath={.data.OPENAI_API_KEY}", check=False
            )
            return base64.b64decode(found.stdout).decode() if found.returncode == 0 and found.stdout else None

        await eventually(lambda: secret_value() == "sk-test", 15)
        local_cluster.kubectl("delete", "secret", secret_name, "-n", namespace)
        await eventually(lambda: secret_value() == "sk-test", 15)
    finally:
        await running.stop()


async def test_new_revision_rolls_the_pods(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        d2 = with_revision(d, "registry.test/agent:2")
        running.reconciler.set_desired([d2])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d2.revision).id), 60)

        def rolled() -> list[Any] | bool:
            pods = local_cluster.get_json("pods", "-n", namespace, "-l", f"{L.DEPLOYMENT_ID}={d.id}")["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            return live and all(p["spec"]["containers"][0]["image"] == "registry.test/agent:2" for p in live)

        await eventually(rolled, 30)
    finally:
        await running.stop()


class PreviewRefused(RecordingControlPlane):
    """The API refuses manifests reports (e.g. it is being upgraded) while `refusing` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.refusing, self.refused = True, 0

    async def manifests(self, deployment_id: str, revision_id: str, manifests: list[Manifest]) -> None:
        if self.refusing:
            self.refused += 1
            raise ControlPlaneError(503, "unavailable")
        await super().manifests(deployment_id, revision_id, manifests)


async def test_a_failed_preview_report_holds_up_nothing_and_is_sent_on_the_next_pass(
    namespace: str, kube: Kube
) -> None:
    cp = PreviewRefused()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        await running.idle()
        assert cp.refused >= 1 and cp.previews == []
        cp.refusing = False
        running.reconciler.set_desired([d])  # a resync
        await running.idle()
        assert [p[:2] for p in cp.previews] == [(d.id, cast(Revision, d.revision).id)]
        assert [m["kind"] for m in cp.previews[-1][2]] == ["Secret", "Deployment", "Service", "Ingress"]
        # A new revision is reported again, before its pods roll.
        d2 = with_revision(d, "registry.test/agent:2")
        running.reconciler.set_desired([d2])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d2.revision).id), 60)
        image = cp.previews[-1][2][1]["spec"]["template"]["spec"]["containers"][0]["image"]
        assert cp.previews[-1][1] == cast(Revision, d2.revision).id and image == "registry.test/agent:2"
    finally:
        await running.stop()


async def test_scale_range_adds_hpa_and_pdb_and_removes_them_again(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace, min_scale=2, max_scale=4)
        running.reconciler.set_desired([d])
        await eventually(
            lambda: exists(local_cluster, "hpa", namespace, d.name) and exists(local_cluster, "pdb", namespace, d.name),
            30,
        )
        data = d.model_dump()
        data["secrets"] = [{"name": "OPENAI_API_KEY", "value": "sk-test"}]
        data["source_config"]["resource_spec"].update(min_scale=1, max_scale=1)
        running.reconciler.set_desired([DesiredDeployment.model_validate(data)])
        await eventually(
            lambda: (
                not exists(local_cluster, "hpa", namespace, d.name)
                and not exists(local_cluster, "pdb", namespace, d.name)
            ),
            30,
        )
    finally:
        await running.stop()


async def test_deleting_removes_everything_and_reports_deleted(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
        running.reconciler.set_desired([d.model_copy(update={"deleting": True})])
        await eventually(lambda: d.id in cp.deleted_ids, 60)
        for kind, name in (
            ("deployment", d.name),
            ("service", d.name),
            ("ingress", d.name),
            ("secret", f"{d.name}-env"),
        ):
            assert not exists(local_cluster, kind, namespace, name), kind
        assert local_cluster.get_json("pods", "-n", namespace, "-l", f"{L.DEPLOYMENT_ID}={d.id}")["items"] == []
    finally:
        await running.stop()


async def test_objects_of_the_same_name_that_are_not_ours_are_never_taken_over(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    d = agent(namespace)
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": d.name, "labels": {"team": "someone-else"}},
        "spec": {"ports": [{"port": 9999}], "selector": {"app": "theirs"}},
    }
    local_cluster.apply(json.dumps(foreign), "-n", namespace)
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, d.revision).id), 60)
        message = next(
            m for r, s, m, _ in cp.revision_statuses if r == cast(Revision, d.revision).id and s == "DEPLOY_FAILED"
        )
        assert message is not None
        assert f"Service/{d.name}" in message
        service = local_cluster.get_json("service", d.name, "-n", namespace)
        assert service["metadata"]["labels"] == {"team": "someone-else"}
        assert service["spec"]["ports"][0]["port"] == 9999
        assert not exists(local_cluster, "deployment", namespace, d.name)
        assert not exists(local_cluster, "secret", namespace, f"{d.name}-env")
    finally:
        await running.stop()


@pytest.mark.parametrize("holder", ["control plane", "langsmith tls"])
async def test_references_to_secrets_an_agent_must_not_read_are_refused(
    local_cluster: LocalCluster, namespace: str, kube: Kube, holder: str
) -> None:
    # The chart's own Secrets (API keys, database passwords), and the LangSmith host's TLS Secret,
    # which sits in the agents' namespace for their routes: its private key is not theirs.
    name = f"{holder.split()[0]}-{uuid.uuid4().hex[:6]}"
    labels = {"app.kubernetes.io/part-of": "langgraph-controlplane"} if holder == "control plane" else {}
    local_cluster.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "labels": labels},
                "stringData": {"key": "value"},
            }
        ),
        "-n",
        namespace,
    )
    d = agent(namespace).model_copy(
        update={"secret_references": [SecretReference(name="STOLEN", secret_name=name, secret_key="key")]}
    )
    cp = RecordingControlPlane()
    route: dict[str, Any] = {"tls_secret_name": name} if holder == "langsmith tls" else {}
    running = await start_reconciler(kube, namespace, cp, **route)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, d.revision).id), 60)
        message = next(
            m for r, s, m, _ in cp.revision_statuses if r == cast(Revision, d.revision).id and s == "DEPLOY_FAILED"
        )
        assert message is not None
        assert f"Secret/{name}" in message
        assert not exists(local_cluster, "deployment", namespace, d.name)
    finally:
        await running.stop()


async def test_references_to_a_users_own_secret_deploy(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    own: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"team-{uuid.uuid4().hex[:6]}"},
        "stringData": {"token": "t"},
    }
    local_cluster.apply(json.dumps(own), "-n", namespace)
    d = agent(namespace).model_copy(
        update={
            "secret_references": [
                SecretReference(name="TEAM_TOKEN", secret_name=own["metadata"]["name"], secret_key="token")
            ]
        }
    )
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
    finally:
        await running.stop()


async def test_orphans_left_while_listener_was_down_are_collected(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    running = await start_reconciler(kube, namespace, cp, compute_id=compute_id)
    d = agent(namespace)
    running.reconciler.set_desired([d])
    await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
    await running.stop()
    # Restarted; the API no longer names the deployment (e.g. moved elsewhere):
    running = await start_reconciler(kube, namespace, RecordingControlPlane(), compute_id=compute_id)
    try:
        running.reconciler.set_desired([])
        await eventually(
            lambda: (
                not exists(local_cluster, "deployment", namespace, d.name)
                and not exists(local_cluster, "service", namespace, d.name)
            ),
            60,
        )
    finally:
        await running.stop()


async def test_other_listeners_objects_are_left_alone(local_cluster: LocalCluster, namespace: str, kube: Kube) -> None:
    mine, theirs = RecordingControlPlane(), RecordingControlPlane()
    other = await start_reconciler(kube, namespace, theirs)
    d = agent(namespace)
    other.reconciler.set_desired([d])
    await eventually(lambda: "DEPLOYED" in theirs.statuses(cast(Revision, d.revision).id), 60)
    await other.stop()
    running = await start_reconciler(kube, namespace, mine)
    try:
        running.reconciler.set_desired([])
        await running.idle()
        assert exists(local_cluster, "deployment", namespace, d.name)
    finally:
        await running.stop()


@pytest.mark.parametrize(
    "image, reason",
    [
        ("registry.test/lgcp-fail-image-pull:1", "image pull failure"),
        ("registry.test/lgcp-fail-crashloop:1", "crash loop"),
    ],
)
async def test_failing_image_ends_in_deploy_failed_with_reason(
    namespace: str, kube: Kube, image: str, reason: str
) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent(namespace, image=image)
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, d.revision).id), 60)
        _, _, message, _events = next(r for r in cp.revision_statuses if r[1] == "DEPLOY_FAILED")
        assert message is not None
        assert reason in message
        assert "DEPLOYED" not in cp.statuses(cast(Revision, d.revision).id)
    finally:
        await running.stop()


async def test_namespace_not_watched_is_reported(namespace: str, kube: Kube) -> None:
    cp = RecordingControlPlane()
    running = await start_reconciler(kube, namespace, cp)
    try:
        d = agent("elsewhere")
        running.reconciler.set_desired([d])
        await eventually(lambda: "DEPLOY_FAILED" in cp.statuses(cast(Revision, d.revision).id), 15)
        assert cp.revision_statuses[-1][2] is not None
        assert "not watched" in cp.revision_statuses[-1][2]
    finally:
        await running.stop()


async def test_restart_deletes_nothing_before_the_desired_state_arrives(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    cp = RecordingControlPlane()
    compute_id = f"c-{uuid.uuid4().hex[:8]}"
    running = await start_reconciler(kube, namespace, cp, compute_id=compute_id)
    d = agent(namespace)
    running.reconciler.set_desired([d])
    await eventually(lambda: "DEPLOYED" in cp.statuses(cast(Revision, d.revision).id), 60)
    await running.stop()
    # Restarted: its watches list the Deployment at once, the API has not answered yet.
    running = await start_reconciler(kube, namespace, RecordingControlPlane(), compute_id=compute_id)
    try:
        assert d.id in running.reconciler.cache.located
        await running.idle()
        live = local_cluster.get_json("deployment", d.name, "-n", namespace)
        assert "deletionTimestamp" not in live["metadata"]
    finally:
        await running.stop()
