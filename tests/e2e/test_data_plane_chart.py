"""The chart's data-plane-only mode installed for real on the real node, beside the session's full
release: a second release of the same chart with `api.enabled: false`, its own namespace, agents'
namespace, Postgres, Redis and compute id, whose listener registers with the session's control
plane with a `listener` key made through the API, is woken over HTTP, cannot reach the control
plane's Redis (NetworkPolicies, enforced on this node by kube-router), and runs a deployment that
names it in its own agents' namespace only, answering through the ingress.

The data plane reaches the control plane as one in another cluster would: through the LangSmith
ingress, by its host name. `listener.controlPlane.url` is the control plane's `/api-host` URL on
`langsmith.lgcp.test` (Traefik on the node's bridge address, which CoreDNS answers for that name
and the node's guard lets pods reach on the ingress port), with a `networkPolicy.externalEgress`
rule to that address and port only, as a platform team would allow egress to its load
balancer. The data plane's listener has no address of the control plane's Services at all."""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from agents import (
    REPO,
    SAMPLE,
    agent_env,
    agent_pods,
    database_exists,
    deploy,
    new_thread,
    save_logs,
    say,
    thread_values,
)
from lgcp_local_stack.control_plane import ControlPlane, wait_for
from lgcp_local_stack.node import Node
from lgcp_local_stack.paths import LOCAL_VALUES
from lgcp_local_stack.release import PSA_RESTRICTED, Release, ReleaseConfig

pytestmark = [pytest.mark.cluster, pytest.mark.images]

DATA_PLANE_RELEASE = "lgcp-dp"
LISTENER_KEY_SECRET = "control-plane-listener-key"
RESYNC_SECONDS = 3600
# A TCP connect from inside a pod: "connected", or the error and exit status 1.
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10).close()
except OSError as exc:
    print(type(exc).__name__, exc)
    sys.exit(1)
print("connected")
"""


@dataclass
class DataPlane:
    """The data-plane release, its listener's id on the control plane, the control plane's release,
    and when the control plane made the listener's key (its database's clock)."""

    release: Release
    listener_id: str
    control: Release
    key_created_at: str


def listener_pod(release: Release) -> dict:
    """The running listener pod of a release."""
    pods = release.node.get_json(
        "pods",
        "-n",
        release.config.namespace,
        "-l",
        f"app.kubernetes.io/component=listener,app.kubernetes.io/instance={release.config.release}",
    )["items"]
    running = [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    assert running, [p["status"] for p in pods]
    return running[0]


def connect_from(release: Release, pod: dict, host: str, port: int) -> tuple[int, str]:
    """Opens a TCP connection from the pod's first container to host:port."""
    proc = release.node.kubectl(
        "exec",
        "-n",
        pod["metadata"]["namespace"],
        pod["metadata"]["name"],
        "--",
        "python3",
        "-c",
        CONNECT,
        host,
        str(port),
        check=False,
        timeout=90,
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def service_host(release: Release, component: str) -> str:
    """`<Service>.<namespace>.svc` of a release's client Service of that component."""
    return f"{release.chart.client_service(component)}.{release.config.namespace}.svc"


def ingress_address(control: Release) -> tuple[str, int]:
    """The LangSmith ingress's address and port, as the host resolves its name (/etc/hosts)."""
    url = urlsplit(control.api_url)
    assert url.hostname is not None
    return socket.gethostbyname(url.hostname), url.port or 80


def data_plane_values(control: Release, compute_id: str) -> dict:
    """What differs from values/local.yaml (the demo's images) for a data plane of `control`."""
    address, port = ingress_address(control)
    return {
        "api": {"enabled": False},
        "listener": {
            "computeId": compute_id,
            "apiKeySecret": LISTENER_KEY_SECRET,
            # Only wake-ups apply changes (values/local.yaml resyncs every 10 s, which would hide
            # wake-ups that never arrive): every change below reached it over HTTP.
            "resyncSeconds": RESYNC_SECONDS,
            # The control plane through the LangSmith ingress, as from another cluster.
            "controlPlane": {"url": control.api_url},
        },
        "networkPolicy": {
            "enabled": True,
            "externalEgress": [
                {"to": [{"ipBlock": {"cidr": f"{address}/32"}}], "ports": [{"port": port, "protocol": "TCP"}]}
            ],
        },
    }


def put_listener_key(node: Node, namespace: str, key: str) -> None:
    """The namespace (Pod Security "restricted", as Release.install makes it) and the Secret with
    the listener's key, made before the install as docs/quickstart.md says. Sent on stdin only."""
    node.apply(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": namespace, "labels": PSA_RESTRICTED},
                    },
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": LISTENER_KEY_SECRET, "namespace": namespace},
                        "type": "Opaque",
                        "stringData": {"api-key": key},
                    },
                ],
            }
        )
    )


@pytest.fixture(scope="module")
def data_plane(demo, tmp_path_factory: pytest.TempPathFactory) -> DataPlane:
    control = demo.release
    namespace = f"{control.config.namespace}-dp"
    compute_id = namespace
    values = tmp_path_factory.mktemp("data-plane") / "values.yaml"
    values.write_text(yaml.safe_dump(data_plane_values(control, compute_id)))
    release = Release(
        control.node,
        ReleaseConfig(
            release=DATA_PLANE_RELEASE,
            namespace=namespace,
            base_path=f"{control.config.base_path.rstrip('/')}-dp",
            values=[LOCAL_VALUES, values],
        ),
    )
    with ControlPlane(control.api_url, control.admin_key) as admin:
        key = admin.create_api_key(f"{compute_id} data plane", "listener")
        try:
            put_listener_key(control.node, namespace, key.pop("key"))
            release.install()
            yield DataPlane(release, admin.listener_id(compute_id), control, key["created_at"])
        finally:
            if release.installed():
                save_logs(release, REPO / "artifacts" / "e2e-data-plane")
            release.uninstall()
            admin.revoke_api_key(key["id"])
            assert not release.installed()


def test_the_data_plane_listener_registers_and_has_no_redis_of_the_control_plane(data_plane, plane):
    release, control = data_plane.release, data_plane.control
    listed = plane.http.get("/listeners", params={"limit": 100}).json()["resources"]
    (listener,) = (item for item in listed if item["compute_id"] == release.compute_id)
    assert listener["id"] == data_plane.listener_id
    assert listener["compute_config"]["k8s_namespaces"] == [release.agents_namespace], listener
    assert release.agents_namespace == f"{release.config.namespace}-agents"
    # Seen since its key was made before the install (both times from the control plane's database).
    assert listener["last_seen_at"] is not None, listener
    assert dt.datetime.fromisoformat(listener["last_seen_at"]) >= dt.datetime.fromisoformat(data_plane.key_created_at)
    # Its environment: woken over HTTP, no Redis of the control plane, the control plane only
    # through the ingress (registered above, so that URL works from its pod), none of its Services.
    env = {e["name"]: e.get("value", "") for e in listener_pod(release)["spec"]["containers"][0]["env"]}
    assert env["LGCP_LISTENER_WAKEUP_SOURCE"] == "http"
    assert "LGCP_LISTENER_REDIS_URL" not in env
    assert env["LGCP_LISTENER_API_URL"] == control.api_url
    control_plane_addresses = {k for k, v in env.items() if f".{control.config.namespace}.svc" in v}
    assert control_plane_addresses == set(), env
    # The control plane's own listener does have its Redis (what the data plane must not have).
    control_env = {e["name"]: e.get("value", "") for e in listener_pod(control)["spec"]["containers"][0]["env"]}
    assert service_host(control, "cache") in control_env["LGCP_LISTENER_REDIS_URL"]


def test_the_data_plane_helm_test_passes_against_the_control_plane(data_plane):
    # The chart's own check of a data plane: its key accepted by the listener API at
    # listener.controlPlane.url, from a pod in this namespace under the release's NetworkPolicies.
    output = data_plane.release.test()
    assert f"ok: the control plane at {data_plane.release.listener_setting('LGCP_LISTENER_API_URL')}" in output, output


def test_the_data_plane_listener_cannot_reach_the_control_planes_redis(data_plane):
    release, control = data_plane.release, data_plane.control
    control_redis, own_redis = service_host(control, "cache"), service_host(release, "cache")
    # The control plane's Redis takes connections (its release has no NetworkPolicies) ...
    assert connect_from(control, listener_pod(control), control_redis, 6379) == (0, "connected")
    # ... and the data plane's listener reaches its own Redis, but not the control plane's: its
    # NetworkPolicy lets it out only to its stores, the control plane's API, agents, DNS and the
    # Kubernetes API.
    pod = listener_pod(release)
    assert connect_from(release, pod, own_redis, 6379) == (0, "connected")
    code, output = connect_from(release, pod, control_redis, 6379)
    assert code == 1 and "connected" not in output, output


def test_an_agent_on_the_data_plane_runs_in_its_agents_namespace_only_and_answers_through_the_ingress(
    data_plane, plane
):
    release, control = data_plane.release, data_plane.control
    # Created, rolled out and (below) deleted while the data plane's listener resyncs only hourly:
    # each change reached it as a wake-up over HTTP.
    deployment = deploy(plane, release, data_plane.listener_id)
    name = deployment["name"]
    assert deployment["source_config"]["listener_id"] == data_plane.listener_id
    assert deployment["source_config"]["listener_config"]["k8s_namespace"] == release.agents_namespace
    assert httpx.get(f"{release.agent_url(name)}/ok", timeout=10).status_code == 200
    thread = new_thread(release, name)
    assert say(release, name, thread, "hello") == "echo #1 (revision 1): hello"
    assert thread_values(release, name, thread)["turns"] == 1

    # Its pods run in the data plane's agents' namespace, none in the control plane's ...
    pods = agent_pods(release, deployment)
    assert pods and {p["metadata"]["namespace"] for p in pods} == {release.agents_namespace}
    assert {c["image"] for p in pods for c in p["spec"]["containers"]} == {SAMPLE}
    assert agent_pods(control, deployment) == []
    for namespace in (control.config.namespace, control.agents_namespace):
        listed = control.node.get_json(
            "deployments,services,ingresses,secrets",
            "-n",
            namespace,
            "-l",
            f"lgcp.dev/deployment-id={deployment['id']}",
        )
        assert listed["items"] == [], [o["metadata"]["name"] for o in listed["items"]]
    # ... and its database is in the data plane's Postgres, not the control plane's.
    # (Host and name taken apart first: a failed assertion shows its operands, and the URI holds
    # the agent's password.)
    database_uri = urlsplit(agent_env(release, deployment)["DATABASE_URI"])
    database, database_host = database_uri.path.lstrip("/"), database_uri.hostname
    assert database_host.startswith(f"{release.chart.client_service('database')}.{release.config.namespace}."), (
        database_host
    )
    assert database_exists(release, database)
    assert not database_exists(control, database)

    # Deleted through the control plane: gone from the API, the route, the data plane's cluster.
    plane.delete(deployment["id"])
    wait_for(
        lambda: plane.http.get(f"/deployments/{deployment['id']}").status_code == 404, "the API forgetting it", 120
    )
    wait_for(
        lambda: httpx.get(f"{release.agent_url(name)}/ok", timeout=5).status_code == 404,
        "its route answering 404",
        timeout=120,
    )
    wait_for(lambda: agent_pods(release, deployment, terminating=True) == [], "its pods being gone", timeout=180)
    wait_for(lambda: not database_exists(release, database), "its database being dropped", timeout=120)
    leftovers = release.node.get_json(
        "deployments,services,ingresses,secrets",
        "-n",
        release.agents_namespace,
        "-l",
        f"lgcp.dev/deployment-id={deployment['id']}",
    )["items"]
    assert leftovers == [], [o["metadata"]["name"] for o in leftovers]
