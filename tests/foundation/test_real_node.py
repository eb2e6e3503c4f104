"""The real local node runs what the product needs (README "The local cluster", docs/architecture.md
"Real local node"): real containers under Pod Security "restricted" with readable logs, Services
and cluster DNS, routes through the ingress by host name (from the host and from pods), volumes that bind, guarded
egress, and an up/down that leaves the machine as it was.

The pods run the probe image (scripts/cluster/real/cmd/probe), which the node imports at `up`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from harness.cluster import (
    CLUSTER_SCRIPT,
    REPO,
    RealCluster,
    is_running,
    machine_snapshot,
    restricted_namespace,
    restricted_security_context,
    run_script,
)

pytestmark = pytest.mark.cluster

NODE_ADDRESS = "198.18.0.1"  # the bridge's: the API server, the kubelet and the ingress listen there
OUTSIDE = "203.0.113.7:80"  # TEST-NET-3: never routed anywhere; a connect must fail at once
RESTRICTED = restricted_security_context(65532)


@pytest.fixture
def namespace(real_cluster: RealCluster) -> str:
    """A namespace that enforces Pod Security "restricted", deleted after the test."""
    name = restricted_namespace(real_cluster)
    yield name
    real_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def probe(real_cluster: RealCluster, *args: str, name: str = "main") -> dict:
    return {
        "name": name,
        "image": real_cluster.env["LGCP_PROBE_IMAGE"],
        "imagePullPolicy": "IfNotPresent",
        "args": list(args),
        "securityContext": RESTRICTED,
    }


def run_pod(real_cluster: RealCluster, namespace: str, name: str, *args: str, timeout: float = 60) -> tuple[str, str]:
    """Runs the probe with ARGS in a bare pod to completion; returns its phase and its log."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [probe(real_cluster, *args)]},
    }
    real_cluster.apply(json.dumps(pod), "-n", namespace)
    phase = wait_for(f"pod {name} finished", lambda: _phase(real_cluster, namespace, name), timeout)
    return phase, real_cluster.kubectl("logs", "-n", namespace, name).stdout


def _phase(real_cluster: RealCluster, namespace: str, name: str) -> str | None:
    phase = real_cluster.get_json("-n", namespace, f"pod/{name}")["status"].get("phase")
    return phase if phase in ("Succeeded", "Failed") else None


def wait_for(what: str, check, timeout: float = 60, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (RuntimeError, httpx.HTTPError) as error:  # not there yet
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last})")


def web_app(real_cluster: RealCluster, name: str, replicas: int = 1) -> str:
    """A Deployment of the probe's HTTP server and its Service, as YAML documents."""
    labels = {"app": name}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            **probe(real_cluster, "serve"),
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1},
                        }
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [deployment, service]})


def ingress_to_web(real_cluster: RealCluster, path: str, class_name: str | None = None) -> str:
    """An Ingress on the LangSmith host routing PATH to Service `web` (no class: the default)."""
    spec: dict = {
        "rules": [
            {
                "host": real_cluster.ingress_host,
                "http": {
                    "paths": [
                        {
                            "path": path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    }
    if class_name:
        spec["ingressClassName"] = class_name
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}
    return json.dumps(ingress)


# --- containers, logs, admission -----------------------------------------------------------


def test_a_restricted_pod_runs_a_real_container_and_its_log_is_readable(
    real_cluster: RealCluster, namespace: str
) -> None:
    marker = f"hello-{uuid.uuid4().hex}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker"},
        "spec": {"containers": [probe(real_cluster, "log", marker)]},
    }
    real_cluster.apply(json.dumps(pod), "-n", namespace)
    real_cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/talker", "--timeout=60s")
    status = real_cluster.get_json("-n", namespace, "pod/talker")["status"]
    # A real container: containerd's ID, an image digest, a pod address on the node's bridge.
    assert status["containerStatuses"][0]["containerID"].startswith("containerd://")
    assert re.search(r"sha256:[0-9a-f]{64}$", status["containerStatuses"][0]["imageID"])
    assert status["podIP"].startswith("198.18.0.")
    # `kubectl logs` goes API server -> kubelet: the kubelet's serving certificate and its
    # authorisation of the API server both work.
    assert wait_for("the log line", lambda: marker in real_cluster.kubectl("logs", "-n", namespace, "talker").stdout)


def test_a_restricted_namespace_rejects_a_privileged_pod(real_cluster: RealCluster, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root"},
        "spec": {"containers": [{**probe(real_cluster, "log", "x"), "securityContext": {"privileged": True}}]},
    }
    refused = real_cluster.kubectl(
        "apply", "--server-side", "-n", namespace, "-f", "-", input=json.dumps(pod), check=False
    )
    assert refused.returncode != 0
    assert "violates PodSecurity" in refused.stderr and "restricted" in refused.stderr


def test_an_image_that_was_not_imported_fails_to_pull_without_leaving_the_machine(
    real_cluster: RealCluster, namespace: str
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "missing"},
        "spec": {"containers": [{**probe(real_cluster, "log", "x"), "image": "registry.example.com/not/imported:1"}]},
    }
    real_cluster.apply(json.dumps(pod), "-n", namespace)

    def waiting() -> str | None:
        statuses = real_cluster.get_json("-n", namespace, "pod/missing")["status"].get("containerStatuses") or []
        reason = (statuses[0]["state"].get("waiting") or {}).get("reason") if statuses else None
        return reason if reason in ("ErrImagePull", "ImagePullBackOff") else None

    assert wait_for("ErrImagePull", waiting, timeout=60)
    events = real_cluster.kubectl(
        "get", "events", "-n", namespace, "--field-selector", "involvedObject.name=missing"
    ).stdout
    # containerd sends every registry to a closed port on 127.0.0.1 (certs.d/_default).
    assert "127.0.0.1:9" in events, events


def test_an_imported_archive_runs_under_its_short_name(
    real_cluster: RealCluster, namespace: str, tmp_path: Path
) -> None:
    # What `podman save --format oci-archive localhost/NAME:TAG` gives, imported with load-image:
    # a pod spec's `NAME:TAG` (as the chart's values write it) must find it.
    tag = f"t{uuid.uuid4().hex[:8]}"
    archive = tmp_path / "probe.tar"
    subprocess.run(
        [
            "python3",
            str(REPO / "scripts/cluster/real/oci_image.py"),
            "--name",
            f"localhost/lgcp-probe:{tag}",
            "--out",
            str(archive),
            "--entrypoint",
            "/probe",
            "--user",
            "65532:65532",
            "--file",
            f"{REPO / '.tools/real-node/probe'}:/probe",
        ],
        check=True,
    )
    names = real_cluster.load_image(archive)
    assert names == [f"localhost/lgcp-probe:{tag}", f"docker.io/library/lgcp-probe:{tag}"]
    phase, log = run_pod(real_cluster, namespace, "short", "resolve", "kubernetes.default.svc.cluster.local")
    assert phase == "Succeeded", log
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "imported"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    **probe(real_cluster, "connect", "kubernetes.default.svc:443"),
                    "image": f"lgcp-probe:{tag}",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
        },
    }
    real_cluster.apply(json.dumps(pod), "-n", namespace)
    assert wait_for("imported image ran", lambda: _phase(real_cluster, namespace, "imported")) == "Succeeded"


# --- Services, DNS, ingress --------------------------------------------------------------


def test_dns_in_a_pod_resolves_services_and_nothing_outside(real_cluster: RealCluster, namespace: str) -> None:
    real_cluster.apply(web_app(real_cluster, "web"), "-n", namespace)
    cluster_ip = real_cluster.get_json("-n", namespace, "service/web")["spec"]["clusterIP"]
    assert cluster_ip.startswith("198.19.0.")
    phase, log = run_pod(real_cluster, namespace, "resolve-short", "resolve", "web")  # through the search path
    assert (phase, log.strip()) == ("Succeeded", cluster_ip)
    phase, log = run_pod(real_cluster, namespace, "resolve-api", "resolve", "kubernetes.default.svc.cluster.local")
    assert (phase, log.strip()) == ("Succeeded", "198.19.0.1")
    # CoreDNS has no upstream: any other name is unknown, and quickly so.
    started = time.monotonic()
    phase, log = run_pod(real_cluster, namespace, "resolve-out", "resolve", "example.com")
    assert phase == "Failed" and "no such host" in log, log
    assert time.monotonic() - started < 30


def test_a_deployment_answers_through_the_ingress_by_host_name(real_cluster: RealCluster, namespace: str) -> None:
    real_cluster.apply(web_app(real_cluster, "web", replicas=2), "-n", namespace)
    path = f"/{namespace}"
    real_cluster.apply(ingress_to_web(real_cluster, path, real_cluster.ingress_class), "-n", namespace)
    real_cluster.kubectl("wait", "-n", namespace, "--for=condition=Available", "deployment/web", "--timeout=90s")
    url = f"{real_cluster.ingress_url}{path}/x"
    # Traefik applies route changes on a short throttle: poll the route first.
    wait_for("the route", lambda: httpx.get(url, timeout=3).status_code == 200, timeout=60)
    # httpx resolves the host name through glibc (the marked /etc/hosts line), as langgraph-sdk does.
    answer = httpx.get(url, timeout=5)
    assert answer.status_code == 200 and answer.text.startswith("hello from web-"), answer.text
    assert f"path={path}/x" in answer.text
    curl = subprocess.run(["curl", "-fsS", "--max-time", "5", url], capture_output=True, text=True)
    assert curl.returncode == 0 and curl.stdout.startswith("hello from web-"), curl.stderr
    # Both replicas serve: the route goes to the pods' own addresses (the second one's endpoint
    # may reach Traefik a throttle period after the first).
    hosts: set[str] = set()

    def both_replicas() -> bool:
        hosts.add(httpx.get(url, timeout=5).text.split()[2])
        return len(hosts) == 2

    wait_for("both replicas answering", both_replicas, timeout=30, interval=0.1)
    # Another host name is not routed there.
    other = httpx.get(url, headers={"Host": "elsewhere.invalid"}, timeout=5)
    assert other.status_code == 404
    status = real_cluster.get_json("-n", namespace, "ingress/web")["status"]["loadBalancer"]["ingress"]
    assert status == [{"ip": NODE_ADDRESS}]
    # Pods reach the LangSmith host by the same name (a data plane's listener calls the control
    # plane there): CoreDNS answers the bridge address, and the guard lets the ingress port in.
    phase, log = run_pod(real_cluster, namespace, "resolve-ingress", "resolve", real_cluster.ingress_host)
    assert (phase, log.strip()) == ("Succeeded", NODE_ADDRESS), log
    port = urlsplit(real_cluster.ingress_url).port or 80
    phase, log = run_pod(real_cluster, namespace, "connect-ingress", "connect", f"{real_cluster.ingress_host}:{port}")
    assert phase == "Succeeded", log


def test_chromium_reaches_the_ingress_host(real_cluster: RealCluster, namespace: str, tmp_path: Path) -> None:
    chromium = next(
        (
            c
            for c in ("chromium", "chromium-browser")
            if subprocess.run(["which", c], capture_output=True).returncode == 0
        ),
        None,
    )
    if chromium is None:
        pytest.skip("no chromium on this machine")
    real_cluster.apply(web_app(real_cluster, "web"), "-n", namespace)
    real_cluster.apply(ingress_to_web(real_cluster, f"/{namespace}"), "-n", namespace)
    url = f"{real_cluster.ingress_url}/{namespace}/page"
    wait_for("the route", lambda: httpx.get(url, timeout=3).status_code == 200, timeout=90)
    page = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "hello from web-" in page.stdout, page.stderr[-2000:]


def test_a_gateway_api_route_answers_through_the_ingress(real_cluster: RealCluster, namespace: str) -> None:
    real_cluster.apply(web_app(real_cluster, "web"), "-n", namespace)
    namespace_of_gateway, gateway = real_cluster.env["LGCP_GATEWAY"].split("/")
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "parentRefs": [{"name": gateway, "namespace": namespace_of_gateway}],
            "hostnames": [real_cluster.ingress_host],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": f"/gw-{namespace}"}}],
                    "backendRefs": [{"name": "web", "port": 80}],
                }
            ],
        },
    }
    real_cluster.apply(json.dumps(route), "-n", namespace)
    url = f"{real_cluster.ingress_url}/gw-{namespace}/"
    wait_for("the route", lambda: httpx.get(url, timeout=3).status_code == 200, timeout=90)
    assert httpx.get(url, timeout=5).text.startswith("hello from web-")
    parents = real_cluster.get_json("-n", namespace, "httproute/web")["status"]["parents"]
    assert {c["type"]: c["status"] for c in parents[0]["conditions"]}.get("Accepted") == "True"


# --- NetworkPolicies ----------------------------------------------------------------------


def connect_from(real_cluster: RealCluster, namespace: str, pod: str, target: str) -> tuple[int, str]:
    """`probe connect TARGET` inside a running pod; returns its exit code and output."""
    proc = real_cluster.kubectl("exec", "-n", namespace, pod, "--", "/probe", "connect", target, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_network_policies_are_enforced_and_the_ingress_still_reaches_the_pods(
    real_cluster: RealCluster, namespace: str
) -> None:
    real_cluster.apply(web_app(real_cluster, "web"), "-n", namespace)
    for role in ("client", "other"):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": role, "labels": {"role": role}},
            "spec": {"containers": [probe(real_cluster, "log", "waiting")]},
        }
        real_cluster.apply(json.dumps(pod), "-n", namespace)
    real_cluster.kubectl("wait", "-n", namespace, "--for=condition=Available", "deployment/web", "--timeout=90s")
    real_cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "pod/other", "--timeout=60s")
    assert connect_from(real_cluster, namespace, "other", "web:80")[0] == 0
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web-from-clients"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}],
        },
    }
    real_cluster.apply(json.dumps(policy), "-n", namespace)
    # kube-router applies a policy within a second or two.

    def refused() -> str | None:
        code, out = connect_from(real_cluster, namespace, "other", "web:80")
        return out if code != 0 else None

    out = wait_for("the policy enforced", refused, timeout=60)
    assert "connection refused" in out or "timeout" in out, out  # kube-router rejects
    assert connect_from(real_cluster, namespace, "client", "web:80") == (0, "connected\n")
    # Traefik is a host process, and traffic from the node itself passes pod policies (as the
    # kubelet's probes do), so the route answers still.
    path = f"/{namespace}"
    real_cluster.apply(ingress_to_web(real_cluster, path), "-n", namespace)
    url = f"{real_cluster.ingress_url}{path}/"
    wait_for("the route", lambda: httpx.get(url, timeout=3).status_code == 200, timeout=60)


# --- volumes ----------------------------------------------------------------------------


def test_a_claim_binds_a_non_root_pod_writes_to_it_and_deleting_it_frees_the_volume(
    real_cluster: RealCluster, namespace: str
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "writer"},
        "spec": {
            "securityContext": {"fsGroup": 65532},
            "containers": [
                {
                    **probe(real_cluster, "write", "/data/file", "persisted"),
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    real_cluster.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": [claim, pod]}), "-n", namespace)
    real_cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/writer", "--timeout=90s")
    assert "wrote persisted" in real_cluster.kubectl("logs", "-n", namespace, "writer").stdout
    bound = real_cluster.get_json("-n", namespace, "pvc/data")
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["storageClassName"] == real_cluster.storage_class  # the default class
    volume = real_cluster.get_json(f"pv/{bound['spec']['volumeName']}")
    directory = Path(volume["spec"]["local"]["path"])
    assert (directory / "file").read_text() == "persisted"
    real_cluster.kubectl("delete", "-n", namespace, "pod/writer", "pvc/data", "--wait=true", "--timeout=60s")
    wait_for(
        "the volume deleted",
        lambda: real_cluster.kubectl("get", f"pv/{volume['metadata']['name']}", check=False).returncode != 0,
        timeout=60,
    )
    assert not directory.exists()


# --- nothing leaves the machine --------------------------------------------------------------


def test_a_pod_has_routes_only_to_the_node_and_cannot_connect_outside(
    real_cluster: RealCluster, namespace: str
) -> None:
    phase, log = run_pod(real_cluster, namespace, "routes", "routes")
    assert phase == "Succeeded", log
    destinations = {line.split()[0] for line in log.splitlines()}
    assert destinations == {"198.18.0.0/24", "198.19.0.0/24"}, log  # no default route
    started = time.monotonic()
    phase, log = run_pod(real_cluster, namespace, "outside", "connect", OUTSIDE)
    assert phase == "Failed" and "network is unreachable" in log, log
    assert time.monotonic() - started < 30
    # The API server stays reachable through its Service, and nothing else on the host is.
    phase, log = run_pod(real_cluster, namespace, "api", "connect", "kubernetes.default.svc:443")
    assert phase == "Succeeded", log
    phase, log = run_pod(real_cluster, namespace, "kubelet", "connect", "198.18.0.1:10250")
    assert phase == "Failed", log


def test_the_guard_drops_what_is_forwarded_off_the_bridge() -> None:
    ruleset = subprocess.run(["nft", "-j", "list", "table", "inet", "lgcp_guard"], capture_output=True, text=True)
    assert ruleset.returncode == 0, ruleset.stderr
    rules = [item["rule"] for item in json.loads(ruleset.stdout)["nftables"] if "rule" in item]
    forward = [r for r in rules if r["chain"] == "forward"]

    def matches(rule: dict, key: str, op: str) -> bool:
        return any(
            m.get("match", {}).get("left", {}).get("meta", {}).get("key") == key
            and m["match"]["op"] == op
            and m["match"]["right"] == "lgcp0"
            for m in rule["expr"]
        )

    def drops(rule: dict) -> bool:
        return any("drop" in e for e in rule["expr"])

    assert any(matches(r, "iifname", "==") and matches(r, "oifname", "!=") and drops(r) for r in forward), forward
    assert any(matches(r, "oifname", "==") and matches(r, "iifname", "!=") and drops(r) for r in forward), forward
    # The Service range has a route of its own on the bridge, so it never takes the default route.
    route = subprocess.run(["ip", "-4", "route", "get", "198.19.0.77"], capture_output=True, text=True).stdout
    assert "dev lgcp0" in route, route


# --- up and down ----------------------------------------------------------------------------


def test_a_second_up_is_harmless(real_cluster: RealCluster) -> None:
    before = machine_snapshot(real_cluster.state)
    started = time.monotonic()
    out = run_script("up", "real")
    assert time.monotonic() - started < 15
    assert out.strip() == str(real_cluster.kubeconfig)
    after = machine_snapshot(real_cluster.state)
    assert after["processes"] == before["processes"]
    assert after["hosts"] == before["hosts"] and after["hosts"].count("# lgcp-real-node") == 1
    assert after["nft tables"] == before["nft tables"]


def may_stop(real_cluster: RealCluster) -> bool:
    """Whether this session may break the node: it started it, or it was told the machine is its
    own (LGCP_REAL_NODE_EXCLUSIVE=1, for CI, where another suite may have started it first)."""
    return real_cluster.started_here or os.environ.get("LGCP_REAL_NODE_EXCLUSIVE") == "1"


def test_up_restarts_only_a_component_that_died(real_cluster: RealCluster) -> None:
    # While Traefik is gone the node's status is "not running": someone else's session seeing
    # that would take the node for one it started. Only on a node this session may break.
    if not may_stop(real_cluster):
        pytest.skip("the real node was running before this session (someone else's): not breaking it")
    pids = {f.name: f.read_text().strip() for f in (real_cluster.state / "pids").iterdir()}
    traefik = pids.pop("traefik")
    assert str(real_cluster.state) in Path(f"/proc/{traefik}/cmdline").read_text()
    os.kill(int(traefik), signal.SIGTERM)
    wait_for("Traefik gone", lambda: not Path(f"/proc/{traefik}").exists(), timeout=15)
    assert not is_running("real")
    run_script("up", "real")
    assert is_running("real")
    after = {f.name: f.read_text().strip() for f in (real_cluster.state / "pids").iterdir()}
    assert after.pop("traefik") != traefik
    assert after == pids  # everything else kept running: the workloads on the node are untouched
    # It runs as nobody, with no capability but binding a low port.
    status = Path(f"/proc/{(real_cluster.state / 'pids' / 'traefik').read_text().strip()}/status").read_text()
    assert "Uid:\t65534\t65534\t65534\t65534" in status
    assert "CapEff:\t0000000000000400" in status  # CAP_NET_BIND_SERVICE only


def test_up_refuses_without_root_naming_it() -> None:
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(CLUSTER_SCRIPT), "up"],
        capture_output=True,
        text=True,
        env={**os.environ, "LGCP_CLUSTER": "real"},
        timeout=60,
    )
    assert result.returncode != 0
    assert "must run as root" in result.stderr


def assert_nothing_of_the_node(snapshot: dict, state: Path) -> None:
    assert snapshot["processes"] == [], "no process of the node's is left"
    assert not state.exists()
    assert not any("lgcp" in line for line in snapshot["hosts"].splitlines())
    assert "lgcp0" not in snapshot["links"]
    assert not any("lgcp_guard" in t or "kube-proxy" in t for t in snapshot["nft tables"])
    assert snapshot["kube chains in nft"] == []
    assert snapshot["mounts"] == [] and snapshot["cgroups"] == []
    assert not any(name.startswith(("KUBE-SRC-", "KUBE-DST-")) for name in snapshot["ipsets"])


def test_down_leaves_the_machine_as_it_was_and_up_brings_the_node_back(real_cluster: RealCluster) -> None:
    if not may_stop(real_cluster):
        pytest.skip("the real node was running before this session (someone else's): not stopping it")
    state = real_cluster.state
    run_script("down", "real")
    found = machine_snapshot(state)
    assert_nothing_of_the_node(found, state)
    if real_cluster.baseline is not None:  # the machine before this session's node
        for key, value in real_cluster.baseline.items():
            assert found[key] == value, (key, value, found[key])
    # A whole cycle from here: up changes the machine, down puts every bit of it back.
    run_script("up", "real")
    running = machine_snapshot(state)
    assert running["processes"] and "lgcp0" in running["links"] and running["mounts"]
    assert running["sysctls"]["kernel.panic"] == "10"  # the kubelet's setting, which down must undo
    run_script("down", "real")
    again = machine_snapshot(state)
    assert_nothing_of_the_node(again, state)
    for key, value in found.items():
        assert again[key] == value, (key, value, again[key])
    # And back, for the rest of the session (state and certificates are made afresh).
    run_script("up", "real")
    assert is_running("real")


def test_up_after_a_node_died_with_its_state_folder_reclaims_what_it_left(real_cluster: RealCluster) -> None:
    # A machine restarted under a running node (or its checkout removed) leaves the bridge with
    # the node's address and its guard table, and no state folder: a fresh clone's up must not
    # take that for another node and refuse (CI failed so, with "198.18.0.1 is already assigned").
    if not may_stop(real_cluster):
        pytest.skip("the real node was running before this session (someone else's): not stopping it")
    state = real_cluster.state
    run_script("down", "real")
    subprocess.run(["ip", "link", "add", "lgcp0", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "198.18.0.1/24", "dev", "lgcp0"], check=True)
    subprocess.run(["ip", "link", "set", "lgcp0", "up"], check=True)
    subprocess.run(["nft", "add", "table", "inet", "lgcp_guard"], check=True)
    assert not state.exists()
    run_script("up", "real")
    assert is_running("real")
    links = subprocess.run(["ip", "-o", "addr", "show", "dev", "lgcp0"], capture_output=True, text=True).stdout
    assert links.count("198.18.0.1/24") == 1
