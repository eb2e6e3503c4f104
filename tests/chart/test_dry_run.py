"""Every values/*.yaml renders and the local cluster's API server accepts it (server-side dry
run) in namespaces that enforce Pod Security "restricted"."""

from __future__ import annotations

import json

import pytest
import yaml
from chart_commands import ENVIRONMENTS, HELMS, VALUES_DIR, pod_specs, render

pytestmark = pytest.mark.cluster


def _namespaces_the_release_writes_to(documents: list[dict]) -> set[str]:
    return {d["metadata"]["namespace"] for d in documents if d["metadata"].get("namespace")}


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_is_accepted_by_the_api_server_with_restricted_enforced(
    helm: str, environment: str, local_cluster, restricted_namespaces
) -> None:
    release_ns = restricted_namespaces("lgcp-dry")
    documents = render(helm, "-f", str(VALUES_DIR / f"{environment}.yaml"), namespace=release_ns)
    # The listener's Roles live in the namespaces it watches: those must exist, restricted too.
    renames = {}
    for namespace in _namespaces_the_release_writes_to(documents) - {release_ns}:
        renames[namespace] = restricted_namespaces(namespace[:40])
    for doc in documents:
        meta = doc["metadata"]
        meta["namespace"] = renames.get(meta.get("namespace"), meta.get("namespace"))

    manifest = yaml.safe_dump_all(documents)
    applied = local_cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=manifest)
    assert "would violate PodSecurity" not in applied.stderr, applied.stderr
    kinds = {d["kind"] for d in documents}
    # A data plane (values/dataplane.yaml, api.enabled=false) has no migration Job; its test Pod
    # checks the control plane instead of an API of its own.
    control_plane = environment != "dataplane"
    assert {"Deployment", "Role", "RoleBinding", "Service", "Pod"} | ({"Job"} if control_plane else set()) <= kinds

    # Workloads are only warned about; admission enforces on Pods. So every pod template is
    # also submitted as a Pod, where "restricted" is enforced.
    pods = pod_specs(documents)
    # At least the API, the listener, the migration and helm test; a data plane's listener,
    # Postgres, Redis and helm test.
    assert len(pods) >= 4
    # Pods name their ServiceAccounts, which must exist: create those for real.
    accounts = [d for d in documents if d["kind"] == "ServiceAccount"]
    local_cluster.apply(yaml.safe_dump_all(accounts))
    for name, metadata, spec in pods:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name[:63].rstrip("-"), "namespace": release_ns, "labels": metadata.get("labels", {})},
            "spec": spec,
        }
        proc = local_cluster.kubectl(
            "create", "--dry-run=server", "-o", "name", "-f", "-", input=json.dumps(pod), check=False
        )
        assert proc.returncode == 0, f"{environment}: pod of {name} rejected: {proc.stderr}"
        assert "Warning" not in proc.stderr, proc.stderr


def test_a_pod_that_breaks_restricted_is_rejected_there(local_cluster, restricted_namespaces) -> None:
    """The namespaces really enforce: the check above could not pass by accident."""
    namespace = restricted_namespaces("lgcp-dry")
    documents = render("helm", "-f", str(VALUES_DIR / "local.yaml"), namespace=namespace)
    _, _, spec = next(p for p in pod_specs(documents) if p[0].endswith("-api"))
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    spec.pop("serviceAccountName")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken", "namespace": namespace}, "spec": spec}
    proc = local_cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert proc.returncode != 0
    assert "violates PodSecurity" in proc.stderr and "allowPrivilegeEscalation" in proc.stderr
