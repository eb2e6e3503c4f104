"""The listener works with exactly the RBAC its README documents, as a ServiceAccount (no admin)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import cast

import pytest
import yaml
from harness.cluster import LocalCluster
from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster


def refused(output: str) -> list[str]:
    """Log lines telling of a 403. A bare substring would also match an id that begins with
    403 (a listener registered as 403c4f9b-... failed this once), so the code must stand alone."""
    return [line for line in output.splitlines() if re.search(r"(?<![\w-])403(?![\w-])|Forbidden", line)]


README = Path(__file__).resolve().parents[2] / "services" / "listener" / "README.md"


def documented_rbac(namespace: str, lease_name: str) -> str:
    text = README.read_text()
    block = cast(
        re.Match[str], re.search(r"<!-- rbac:begin -->\s*```yaml\n(.*?)```\s*<!-- rbac:end -->", text, re.S)
    ).group(1)
    return block.replace("LEASE_NAMESPACE", namespace).replace("NAMESPACE", namespace).replace("LEASE_NAME", lease_name)


def with_dedicated_rules(rbac: str) -> str:
    """The documented Roles with the README's additional rules of dedicated mode in the namespace Role."""
    extra = cast(
        re.Match[str],
        re.search(
            r"<!-- rbac-dedicated:begin -->\s*```yaml\n(.*?)```\s*<!-- rbac-dedicated:end -->", README.read_text(), re.S
        ),
    ).group(1)
    roles = [role for role in yaml.safe_load_all(rbac) if role]
    namespace_role = next(r for r in roles if r["metadata"]["name"] == "lgcp-listener")
    namespace_role["rules"] += yaml.safe_load(extra)
    return yaml.safe_dump_all(roles)


def bind(cluster: LocalCluster, namespace: str, rbac: str) -> None:
    """A ServiceAccount `lgcp-listener` bound to the Roles of `rbac`, and to nothing else."""
    cluster.kubectl("create", "serviceaccount", "lgcp-listener", "-n", namespace)
    cluster.apply(rbac)
    for role in ("lgcp-listener", "lgcp-listener-lease"):
        cluster.kubectl(
            "create",
            "rolebinding",
            role,
            f"--role={role}",
            f"--serviceaccount={namespace}:lgcp-listener",
            "-n",
            namespace,
        )


def token_kubeconfig(cluster: LocalCluster, namespace: str, account: str) -> str:
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration", "1h").stdout.strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account}}],
        "current-context": account,
    }
    path = Path(tempfile.mkdtemp(prefix="lgcp-rbac-")) / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


async def test_listener_runs_with_only_the_documented_rbac(stack: Stack, local_cluster: LocalCluster) -> None:
    ns, lease = stack.namespace, stack.env["LGCP_LISTENER_LEASE_NAME"]
    bind(local_cluster, ns, documented_rbac(ns, lease))
    # Sanity: the account really is limited (nothing outside its namespace, nothing cluster-wide).
    kubeconfig = token_kubeconfig(local_cluster, ns, "lgcp-listener")
    for args in (("get", "secrets", "-n", "default"), ("get", "pods", "-n", "default"), ("get", "nodes")):
        assert local_cluster.kubectl("--kubeconfig", kubeconfig, *args, check=False).returncode != 0, args

    listener = stack.start(LGCP_LISTENER_KUBECONFIG=kubeconfig)
    await stack.registered()
    deployment = await stack.create(min_scale=2, max_scale=3)
    await stack.wait_revision(deployment, "DEPLOYED")
    assert stack.exists("hpa", deployment["name"]) and stack.exists("pdb", deployment["name"])
    assert (await stack.admin.delete(f"/deployments/{deployment['id']}")).status_code == 204

    async def forgotten() -> bool:
        return (await stack.admin.get(f"/deployments/{deployment['id']}")).status_code == 404

    await eventually(forgotten, 60)
    assert not refused(listener.output()), refused(listener.output())


async def test_dedicated_mode_runs_with_only_the_documented_rbac_and_its_additional_rules(
    stack: Stack, local_cluster: LocalCluster
) -> None:
    ns, lease = stack.namespace, stack.env["LGCP_LISTENER_LEASE_NAME"]
    bind(local_cluster, ns, with_dedicated_rules(documented_rbac(ns, lease)))
    kubeconfig = token_kubeconfig(local_cluster, ns, "lgcp-listener")
    for verb, resource in (
        ("delete", "statefulsets"),
        ("list", "persistentvolumeclaims"),
        ("create", "persistentvolumeclaims"),
    ):
        answer = local_cluster.kubectl(
            "--kubeconfig", kubeconfig, "auth", "can-i", verb, resource, "-n", ns, check=False
        )
        assert answer.stdout.strip() == "no", (verb, resource)

    listener = stack.start(
        LGCP_LISTENER_KUBECONFIG=kubeconfig,
        LGCP_LISTENER_DATABASE_MODE="dedicated",
        LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_SIZE="1Gi",
    )
    await stack.registered()
    deployment = await stack.create()
    await stack.wait_revision(deployment, "DEPLOYED", within=180)
    name = deployment["name"]
    assert stack.exists("statefulset", f"{name}-postgres") and stack.exists("statefulset", f"{name}-redis")
    assert stack.exists("pvc", f"data-{name}-postgres-0")
    assert (await stack.admin.get(f"/deployments/{deployment['id']}")).json()["status"] == "READY"
    assert (await stack.admin.delete(f"/deployments/{deployment['id']}")).status_code == 204

    async def forgotten() -> bool:
        return (await stack.admin.get(f"/deployments/{deployment['id']}")).status_code == 404

    await eventually(forgotten, 60)
    # Retention `delete` (the default): the volume and its passwords went with it.
    await eventually(lambda: not stack.exists("pvc", f"data-{name}-postgres-0"), 30)
    assert not stack.exists("secret", f"{name}-db-credentials")
    assert not refused(listener.output()), refused(listener.output())
