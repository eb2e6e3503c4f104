"""The listener works with exactly the RBAC its README documents, as a ServiceAccount (no admin)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import yaml

from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster

README = Path(__file__).resolve().parents[2] / "services" / "listener" / "README.md"


def documented_rbac(namespace: str, lease_name: str) -> str:
    text = README.read_text()
    block = re.search(r"<!-- rbac:begin -->\s*```yaml\n(.*?)```\s*<!-- rbac:end -->", text, re.S).group(1)
    return block.replace("LEASE_NAMESPACE", namespace).replace("NAMESPACE", namespace).replace("LEASE_NAME", lease_name)


def token_kubeconfig(cluster, namespace: str, account: str) -> str:
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration", "1h").stdout.strip()
    config = {
        "apiVersion": "v1", "kind": "Config", "clusters": admin["clusters"],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account}}],
        "current-context": account,
    }
    path = Path(tempfile.mkdtemp(prefix="lgcp-rbac-")) / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


async def test_listener_runs_with_only_the_documented_rbac(stack: Stack, local_cluster):
    ns, lease = stack.namespace, stack.env["LGCP_LISTENER_LEASE_NAME"]
    local_cluster.kubectl("create", "serviceaccount", "lgcp-listener", "-n", ns)
    local_cluster.apply(documented_rbac(ns, lease))
    for role in ("lgcp-listener", "lgcp-listener-lease"):
        local_cluster.kubectl("create", "rolebinding", role, f"--role={role}",
                              f"--serviceaccount={ns}:lgcp-listener", "-n", ns)
    # Sanity: the account really is limited (no list of Secrets, nothing cluster-wide).
    kubeconfig = token_kubeconfig(local_cluster, ns, "lgcp-listener")
    assert local_cluster.kubectl("--kubeconfig", kubeconfig, "get", "secrets", "-n", ns, check=False).returncode != 0
    assert local_cluster.kubectl("--kubeconfig", kubeconfig, "get", "pods", "-n", "default", check=False).returncode != 0

    listener = stack.start(LGCP_LISTENER_KUBECONFIG=kubeconfig)
    await stack.registered()
    deployment = await stack.create(min_scale=2, max_scale=3)
    await stack.wait_revision(deployment, "DEPLOYED")
    assert stack.exists("hpa", deployment["name"]) and stack.exists("pdb", deployment["name"])
    assert (await stack.admin.delete(f"/deployments/{deployment['id']}")).status_code == 204

    async def forgotten():
        return (await stack.admin.get(f"/deployments/{deployment['id']}")).status_code == 404
    await eventually(forgotten, 60)
    assert " 403" not in listener.output() and "Forbidden" not in listener.output()
