"""`helm install` then `helm upgrade` of values/local.yaml on the local cluster, with helm v3
and helm v4: the migration Job completes, every pod becomes Ready, `helm test` passes, secrets
survive upgrades and reinstalls, and a change rolls exactly the pods that read it."""

from __future__ import annotations

import pytest
import yaml
from chart_commands import CHART, HELMS, VALUES_DIR, run

pytestmark = pytest.mark.cluster

RELEASE = "lgcp"
KEPT_SECRETS = ("lgcp-langgraph-controlplane-secrets", "lgcp-postgres", "lgcp-redis")


class Release:
    """One release of the chart in one namespace, driven by one helm binary."""

    def __init__(self, helm: str, cluster, namespace: str) -> None:
        self.helm, self.cluster, self.namespace = helm, cluster, namespace

    def helm_run(self, *args: str) -> str:
        return run(self.helm, *args, "--namespace", self.namespace, "--kubeconfig", self.cluster.kubeconfig).stdout

    def deploy(self, verb: str, *sets: str) -> str:
        args = [item for value in sets for item in ("--set", value)]
        return self.helm_run(
            verb, RELEASE, str(CHART), "-f", str(VALUES_DIR / "local.yaml"), "--wait", "--timeout", "300s", *args
        )

    def get(self, *args: str) -> dict:
        return self.cluster.get_json(*args, "--namespace", self.namespace)

    def secrets(self) -> dict[str, dict]:
        return {name: self.get("secret", name)["data"] for name in KEPT_SECRETS}

    def replica_sets(self) -> dict[str, str]:
        """Component -> the pod-template hash of its current ReplicaSet."""
        current = {}
        for rs in self.get("replicasets")["items"]:
            if rs["spec"]["replicas"] > 0:
                labels = rs["metadata"]["labels"]
                current[labels["app.kubernetes.io/component"]] = labels["pod-template-hash"]
        return current

    def migration_job(self) -> dict:
        return self.get("job", "lgcp-langgraph-controlplane-migrate")


def assert_running(release: Release) -> None:
    job = release.migration_job()
    assert job["status"].get("succeeded") == 1, job["status"]
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    pods = release.get("pods", "-l", f"app.kubernetes.io/instance={RELEASE}")["items"]
    serving = [p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/component") not in ("migrate", "test")]
    components = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in serving}
    assert components == {"api", "listener", "database", "cache"}
    for pod in serving:
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
        assert ready == "True", f"{pod['metadata']['name']} is not Ready: {pod['status']}"


@pytest.mark.parametrize("helm", HELMS)
def test_install_upgrade_test_and_reinstall(helm: str, local_cluster, restricted_namespaces) -> None:
    release = Release(helm, local_cluster, restricted_namespaces(f"lgcp-{helm}"))

    notes = release.deploy("install")
    hostname = yaml.safe_load((VALUES_DIR / "local.yaml").read_text())["langsmith"]["hostname"]
    assert f"http://{hostname}/api-host/v2" in notes
    assert_running(release)
    secrets, hashes = release.secrets(), release.replica_sets()
    first_job = release.migration_job()["metadata"]["uid"]

    # An upgrade with nothing changed: the migration runs again, nothing rolls, secrets stay.
    release.deploy("upgrade")
    assert_running(release)
    assert release.migration_job()["metadata"]["uid"] != first_job
    assert release.secrets() == secrets
    assert release.replica_sets() == hashes

    # A key only the listener reads: the listener rolls, the API does not.
    release.deploy("upgrade", "langsmith.apiKey=lsv2-local-test-key")
    assert_running(release)
    rolled = release.replica_sets()
    assert rolled["api"] == hashes["api"]
    assert rolled["listener"] != hashes["listener"]

    out = release.helm_run("test", RELEASE, "--timeout", "120s")
    assert "Phase:          Succeeded" in out

    # Uninstall keeps what opens the data (the volumes stay too); a reinstall adopts it.
    release.helm_run("uninstall", RELEASE, "--wait", "--timeout", "120s")
    kept = release.get("secrets")["items"]
    assert {"lgcp-langgraph-controlplane-secrets", "lgcp-postgres"} <= {s["metadata"]["name"] for s in kept}
    release.deploy("install")
    assert_running(release)
    after = release.secrets()
    assert after["lgcp-langgraph-controlplane-secrets"] == secrets["lgcp-langgraph-controlplane-secrets"]
    assert after["lgcp-postgres"] == secrets["lgcp-postgres"]


def test_the_listener_service_account_can_do_exactly_what_the_listener_does(
    local_cluster, restricted_namespaces
) -> None:
    """RBAC as the API server evaluates it (`kubectl auth can-i` as the listener's account)."""
    release_ns, agents_ns, other_ns = (restricted_namespaces(p) for p in ("lgcp-rbac", "agents", "other"))
    release = Release("helm", local_cluster, release_ns)
    release.deploy("install", f"listener.namespaces={{{release_ns},{agents_ns}}}")
    account = f"system:serviceaccount:{release_ns}:lgcp-langgraph-controlplane-listener"

    def can(verb: str, resource: str, namespace: str) -> bool:
        proc = local_cluster.kubectl("auth", "can-i", verb, resource, "--as", account, "-n", namespace, check=False)
        return proc.stdout.strip() == "yes"

    for namespace in (release_ns, agents_ns):
        assert can("patch", "deployments.apps", namespace)
        assert can("delete", "services", namespace)
        assert can("create", "ingresses.networking.k8s.io", namespace)
        assert can("get", "secrets/some-agent-env", namespace)
        assert can("watch", "pods", namespace)
        # Its agents' env Secrets are watched (label-selected), so an edited one is put back.
        assert can("list", "secrets", namespace) and can("watch", "secrets", namespace)
        assert not can("delete", "pods", namespace)
        assert not can("create", "httproutes.gateway.networking.k8s.io", namespace)
    assert not can("get", "deployments.apps", other_ns)
    assert not can("list", "secrets", other_ns)
    assert not can("list", "namespaces", release_ns)
    assert can("update", "leases.coordination.k8s.io/lgcp-langgraph-controlplane-listener", release_ns)
    assert not can("update", "leases.coordination.k8s.io/someone-elses-lease", release_ns)
    assert not can("update", "leases.coordination.k8s.io/lgcp-langgraph-controlplane-listener", agents_ns)
