"""The reconcile step and the controller around it, against an in-memory Kubernetes (pure logic;
test_reconcile_cluster.py runs the same passes against the local cluster's API server)."""

from __future__ import annotations

import uuid

from fake_kubernetes import FakeKubernetes
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.configuration import ExternalDatabasesConfig, Retention, RouteConfig
from lgcp_listener.databases.external import ExternalMode
from lgcp_listener.databases.mode import DATABASES_READY, DatabaseMode, ObjectLookup
from lgcp_listener.objects import Manifest
from lgcp_listener.reconcile.controller import Controller
from lgcp_listener.reconcile.result import DONE, REMOVED, Result
from lgcp_listener.render.common import metadata
from lgcp_listener.render.context import AgentConnections, Owner, RenderContext
from lgcp_listener.status.rollout import Rollout
from listener_support import RecordingControlPlane

NAMESPACE = "agents"
CTX = RenderContext("cid", RouteConfig("ls.example.com"))


def agent(name: str = "agent", status: str = "READY", **spec: object) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": name,
            "namespace": NAMESPACE,
            "status": status,
            "source_config": {"resource_spec": {"min_scale": 1, "max_scale": 1, **spec}},
            "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-test"}],
            "revision": {"id": str(uuid.uuid4()), "image_uri": "registry.test/agent:1", "status": "QUEUED"},
        }
    )


def rid(d: DesiredDeployment) -> str:
    assert d.revision is not None
    return d.revision.id


def external() -> ExternalMode:
    return ExternalMode(ExternalDatabasesConfig("postgresql://u:p@pg:5432/{database}", "redis://r:6379/0"))


def controller(
    kube: FakeKubernetes, cp: RecordingControlPlane, mode: DatabaseMode | None = None, retention: Retention = "delete"
) -> Controller:
    return Controller(kube, cp, mode or external(), CTX, [NAMESPACE], retention=retention)


async def settle(c: Controller, d: DesiredDeployment, passes: int = 5) -> list[Result]:
    """Passes over `d` until one asks for nothing more (at most `passes`)."""
    results = []
    for _ in range(passes):
        results.append(await c.reconcile(d.id))
        if results[-1] in (DONE, REMOVED):
            break
    return results


def observe(c: Controller, kube: FakeKubernetes) -> None:
    """Hands every watched object to the cache as its informer's watch would."""
    for (kind, namespace, _), obj in kube.objects.items():
        if namespace is not None and c.cache.watches(namespace, kind):
            informer = c.cache.informer(kind, namespace)
            informer.remember(obj)
            informer.on_change(kind, "ADDED", obj)


async def test_a_new_deployment_gets_its_secret_and_deployment_first_and_the_rest_in_a_pass_of_its_own() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    c = controller(kube, cp)
    d = agent()
    c.set_desired([d])
    first = await c.reconcile(d.id)
    assert first == Result(again_after=0), "the rest is queued behind other new deployments"
    assert kube.writes == [("apply", "Secret", "agent-env"), ("apply", "Deployment", "agent")]
    assert cp.revision_statuses == [] and cp.previews == []
    assert await c.reconcile(d.id) == DONE
    assert kube.names() == [
        ("Deployment", "agent"),
        ("Ingress", "agent"),
        ("Secret", "agent-env"),
        ("Service", "agent"),
    ]
    assert cp.statuses(rid(d)) == ["DEPLOYING", "DEPLOYED"]
    assert [p[:2] for p in cp.previews] == [(d.id, rid(d))]
    service = kube.objects[("Service", NAMESPACE, "agent")]
    assert (
        service["metadata"]["ownerReferences"][0]["uid"]
        == kube.objects[("Deployment", NAMESPACE, "agent")]["metadata"]["uid"]
    )


async def test_a_pass_over_a_settled_deployment_writes_and_reports_nothing() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    c = controller(kube, cp)
    d = agent()
    c.set_desired([d])
    await settle(c, d)
    writes, reports, previews = len(kube.writes), len(cp.revision_statuses), len(cp.previews)
    assert await c.reconcile(d.id) == DONE
    assert (len(kube.writes), len(cp.revision_statuses), len(cp.previews)) == (writes, reports, previews)


async def test_drift_of_an_object_is_written_back() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    c = controller(kube, cp)
    d = agent()
    c.set_desired([d])
    await settle(c, d)
    # Someone edits the Service: its watch event brings a new generation into the cache.
    edited = kube.put({**kube.objects[("Service", NAMESPACE, "agent")], "spec": {"ports": []}})
    edited["metadata"]["generation"] = 99
    c.cache.informer("Service", NAMESPACE).objects["agent"] = edited
    assert await c.reconcile(d.id) == DONE
    assert kube.writes[-1] == ("apply", "Service", "agent")
    assert kube.objects[("Service", NAMESPACE, "agent")]["spec"]["ports"][0]["port"] == 8000


async def test_a_name_held_by_an_object_that_is_not_the_deployments_fails_the_revision_and_writes_nothing() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "agent", "namespace": NAMESPACE, "labels": {"team": "theirs"}},
        }
    )
    c = controller(kube, cp)
    d = agent()
    c.set_desired([d])
    assert await c.reconcile(d.id) == DONE
    assert kube.writes == []
    (_, status, message, _), *_ = [r for r in cp.revision_statuses if r[1] == "DEPLOY_FAILED"]
    assert status == "DEPLOY_FAILED" and message is not None and "Service/agent" in message


async def test_a_deployment_whose_deletion_is_under_way_is_waited_for_with_backoff() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    c = controller(kube, cp)
    d = agent()
    c.set_desired([d])
    await settle(c, d)
    live = c.cache.get("Deployment", NAMESPACE, "agent")
    assert live is not None
    live["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    result = await c.reconcile(d.id)
    assert result.backoff and "waiting for the deletion" in result.reason and result.again_after is None


async def test_a_deletion_waits_for_the_deployment_then_reports_and_forgets_the_deployment_entirely() -> None:
    """Issue 14 defect 5: every memo of a deployment is dropped once it is gone, and the work
    queue no longer counts it."""
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    c = controller(kube, cp)
    d, other = agent(), agent("other")
    c.set_desired([d, other])
    await settle(c, d)
    await settle(c, other)
    assert set(c.remembers(d.id)) == {"step", "applier", "preflight", "reporter"}
    c.set_desired([d.model_copy(update={"deleting": True}), other])
    assert len(c.queue) == 2
    first = await c.reconcile(d.id)
    assert first.backoff and "to be deleted" in first.reason
    assert ("delete", "Deployment", "agent") in kube.writes
    assert await c.reconcile(d.id) == REMOVED
    assert ("Secret", "agent-env") not in kube.names()
    assert cp.deleted_ids == [d.id]
    assert c.remembers(d.id) == [] and d.id not in c.desired
    assert len(c.queue) == 1, "the removed deployment's queue entry is gone, the other's is left"
    assert c.remembers(other.id), "the other deployment is untouched"


class RecordingMode:
    """A database mode that adds an object, provisions, and is ready only when told: the step must
    serve any mode through DatabaseMode alone."""

    kinds: tuple[str, ...] = ("ConfigMap",)
    needs_provisioning = True

    def __init__(self, kube: FakeKubernetes) -> None:
        self.kube = kube
        self.ready = False
        self.calls: list[str] = []

    def owned_names(self, name: str) -> list[tuple[str, str]]:
        return [("ConfigMap", f"{name}-db")]

    async def connections(self, desired: DesiredDeployment, env_secret: Manifest | None) -> AgentConnections:
        self.calls.append("connections")
        return AgentConnections("postgresql://own:pw@db/agent", "redis://:pw@redis/0")

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        # The env Secret with the credentials is written before anything gets them.
        assert ("apply", "Secret", f"{desired.name}-env") in self.kube.writes
        self.calls.append("provision")

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, owner: Owner | None) -> list[Manifest]:
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(desired, CTX, f"{desired.name}-db", "database", owner),
                "data": {},
            }
        ]

    def rollout(self, desired: DesiredDeployment, lookup: ObjectLookup, pods: list[Manifest]) -> Rollout:
        assert lookup("ConfigMap", f"{desired.name}-db") is not None
        return DATABASES_READY if self.ready else Rollout("progressing", "database starting")

    async def release(self, desired: DesiredDeployment) -> None:
        self.calls.append("release")

    async def data_store(self) -> str:
        # DatabaseMode's, asked by the listener's registration only: never by the step.
        raise AssertionError("the reconcile step asked for the data store")

    async def close(self) -> None:
        self.calls.append("close")


async def test_any_database_mode_is_served_through_the_strategy_alone() -> None:
    kube, cp = FakeKubernetes(), RecordingControlPlane()
    mode = RecordingMode(kube)
    c = controller(kube, cp, mode)
    assert "ConfigMap" in c.cache.kinds  # its objects are watched like the agent's own
    d = agent(status="AWAITING_DATABASE")
    c.set_desired([d])
    await settle(c, d)
    assert mode.calls == ["connections", "provision"]
    assert ("apply", "ConfigMap", "agent-db") in kube.writes
    assert kube.objects[("ConfigMap", NAMESPACE, "agent-db")]["metadata"]["labels"][L.DEPLOYMENT_ID] == d.id
    # Not READY, and not DEPLOYED, while the mode's databases are not ready.
    assert [s for i, s in cp.deployment_statuses if i == d.id] == ["AWAITING_DATABASE"]
    assert cp.statuses(rid(d)) == ["DEPLOYING"]
    mode.ready = True
    assert await c.reconcile(d.id) == DONE
    assert [s for i, s in cp.deployment_statuses if i == d.id] == ["AWAITING_DATABASE", "READY"]
    assert cp.statuses(rid(d)) == ["DEPLOYING", "DEPLOYED"]
    assert mode.calls == ["connections", "provision"], "connections once per process"


async def test_only_an_api_deletion_with_retention_delete_releases_the_data() -> None:
    cases: list[tuple[Retention, bool, bool]] = [
        ("delete", True, True),
        ("retain", True, False),
        ("delete", False, False),
    ]
    for retention, deleting, released in cases:
        kube, cp = FakeKubernetes(), RecordingControlPlane()
        mode = RecordingMode(kube)
        mode.ready = True
        c = controller(kube, cp, mode, retention)
        d = agent()
        c.set_desired([d])
        await settle(c, d)
        observe(c, kube)
        c.set_desired([d.model_copy(update={"deleting": True})] if deleting else [])  # else an orphan
        assert await settle(c, d) == [Result.wait(f"waiting for Deployment {NAMESPACE}/agent to be deleted"), REMOVED]
        assert ("release" in mode.calls) is released, (retention, deleting)
