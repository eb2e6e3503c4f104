"""Agents get a namespace of their own by default, `<release namespace>-agents`, apart from the
chart's Secrets: created by the chart enforcing Pod Security "restricted" and kept on uninstall,
or, with `listener.createNamespaces=false`, required to exist; and an upgrade never moves the
listener away from agents an older release left in the release namespace."""

from __future__ import annotations

import json
import subprocess

import pytest
from chart_commands import CHART, VALUES_DIR, run

pytestmark = pytest.mark.cluster

RELEASE = "lgcp"
LISTENER_ACCOUNT = "lgcp-langgraph-controlplane-listener"


def _helm(cluster, namespace: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("helm", *args, "--namespace", namespace, "--kubeconfig", cluster.kubeconfig, check=check)


def _deploy(cluster, namespace: str, verb: str, *sets: str, check: bool = True) -> subprocess.CompletedProcess:
    args = [item for value in sets for item in ("--set", value)]
    return _helm(
        cluster,
        namespace,
        verb,
        RELEASE,
        str(CHART),
        "-f",
        str(VALUES_DIR / "local.yaml"),
        "--timeout",
        "300s",
        *args,
        check=check,
    )


def test_the_default_agents_namespace_is_created_restricted_and_kept(local_cluster, restricted_namespaces) -> None:
    namespace = restricted_namespaces("lgcp-agns")
    agents = f"{namespace}-agents"
    _deploy(local_cluster, namespace, "install")

    created = local_cluster.get_json("namespace", agents)["metadata"]
    assert created["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert created["annotations"]["helm.sh/resource-policy"] == "keep"
    env = {
        e["name"]: e.get("value")
        for e in local_cluster.get_json("deployment", "lgcp-langgraph-controlplane-listener", "--namespace", namespace)[
            "spec"
        ]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["LGCP_LISTENER_NAMESPACES"] == env["LGCP_LISTENER_DEFAULT_NAMESPACE"] == agents

    def can(verb: str, resource: str, where: str) -> bool:
        proc = local_cluster.kubectl(
            "auth",
            "can-i",
            verb,
            resource,
            "-n",
            where,
            "--as",
            f"system:serviceaccount:{namespace}:{LISTENER_ACCOUNT}",
            check=False,
        )
        return proc.stdout.strip() == "yes"

    # The listener writes agents there, and nothing in the namespace of the chart's Secrets.
    assert can("create", "deployments.apps", agents) and can("get", "secrets/some-agent-env", agents)
    assert not can("create", "deployments.apps", namespace)
    assert not can("get", "secrets/lgcp-langgraph-controlplane-secrets", namespace)

    # "restricted" is enforced there: a privileged pod is refused.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": agents},
        "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]},
    }
    refused = local_cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr

    # Uninstall keeps it (and any agents in it); a reinstall under the same name adopts it again.
    _helm(local_cluster, namespace, "uninstall", RELEASE, "--wait", "--timeout", "120s")
    assert local_cluster.kubectl("get", "namespace", agents, check=False).returncode == 0
    _deploy(local_cluster, namespace, "install")
    assert f"name: {agents}" in _helm(local_cluster, namespace, "get", "manifest", RELEASE).stdout


def test_without_create_namespaces_a_missing_namespace_stops_the_install(local_cluster, restricted_namespaces) -> None:
    namespace = restricted_namespaces("lgcp-agns")
    failed = _deploy(local_cluster, namespace, "install", "listener.createNamespaces=false", check=False)
    assert failed.returncode != 0
    assert (
        f"namespace {namespace}-agents (listener.namespaces) does not exist and listener.createNamespaces "
        "is false: create it"
    ) in failed.stderr
    assert _helm(local_cluster, namespace, "list", "--all", "--short").stdout.strip() == ""

    # Created as the message says, the same install goes through, into that namespace.
    agents = restricted_namespaces("lgcp-team")
    _deploy(local_cluster, namespace, "install", "listener.createNamespaces=false", f"listener.namespaces={{{agents}}}")
    assert "kind: Namespace" not in _helm(local_cluster, namespace, "get", "manifest", RELEASE).stdout


def test_an_upgrade_does_not_move_the_listener_away_from_agents_in_the_release_namespace(
    local_cluster, restricted_namespaces
) -> None:
    namespace = restricted_namespaces("lgcp-agns")
    # A release from before the default changed: agents in the release namespace.
    _deploy(local_cluster, namespace, "install", f"listener.namespaces={{{namespace}}}")
    local_cluster.kubectl("create", "deployment", "old-agent", "--image=registry.local/agent:1", "-n", namespace)
    local_cluster.kubectl(
        "label", "deployment", "old-agent", "app.kubernetes.io/managed-by=lgcp-listener", "-n", namespace
    )

    refused = _deploy(local_cluster, namespace, "upgrade", check=False)
    assert refused.returncode != 0
    assert (
        f"agents run in the release namespace {namespace} (old-agent), the default before "
        f"listener.namespaces defaulted to {namespace}-agents: set listener.namespaces={{{namespace}}}"
    ) in refused.stderr
    history = json.loads(_helm(local_cluster, namespace, "history", RELEASE, "--output", "json").stdout)
    assert [h["status"] for h in history] == ["deployed"]

    # Keeping the release namespace first (new agents may go to the new one after it) upgrades.
    _deploy(local_cluster, namespace, "upgrade", f"listener.namespaces={{{namespace},{namespace}-agents}}")
    assert local_cluster.kubectl("get", "namespace", f"{namespace}-agents", check=False).returncode == 0
