"""`secrets.existingSecret` without an entry the chart's pods read stops `helm install` and
`helm upgrade` before anything is applied, with the command that fixes it. The check uses
`lookup`, which `helm template` cannot answer, so it is tested against the local cluster."""

from __future__ import annotations

import base64
import json
import re
import subprocess

import pytest
from chart_commands import CHART, VALUES_DIR, run, tool_env
from cryptography.fernet import Fernet

pytestmark = pytest.mark.cluster

RELEASE = "lgcp"
SECRET = "platform-secrets"


def test_an_existing_secret_without_the_listener_key_stops_install_and_upgrade(
    local_cluster, restricted_namespaces
) -> None:
    namespace = restricted_namespaces("lgcp-presecret")

    def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("helm", *args, "--namespace", namespace, "--kubeconfig", local_cluster.kubeconfig, check=check)

    def deploy(verb: str) -> subprocess.CompletedProcess:
        return helm(
            verb,
            RELEASE,
            str(CHART),
            "-f",
            str(VALUES_DIR / "local.yaml"),
            "--set",
            f"secrets.existingSecret={SECRET}",
            "--timeout",
            "300s",
            check=False,
        )

    # A Secret made for a release from before the listener had a key of its own.
    local_cluster.kubectl(
        "create",
        "secret",
        "generic",
        SECRET,
        "--namespace",
        namespace,
        "--from-literal=secret-key=" + "k" * 48,
        "--from-literal=encryption-keys=" + Fernet.generate_key().decode(),
        "--from-literal=admin-api-key=lgcp_" + "a" * 48,
    )

    failed = deploy("install")
    assert failed.returncode != 0
    assert (
        f"Secret {SECRET} in namespace {namespace} (secrets.existingSecret) has no listener-api-key, "
        "which the chart's pods read"
    ) in failed.stderr
    # Stopped before anything was applied: no release, no object of the chart.
    assert helm("list", "--all", "--short").stdout.strip() == ""
    assert local_cluster.get_json("all", "--namespace", namespace)["items"] == []
    secrets = local_cluster.get_json("secrets", "--namespace", namespace)["items"]
    assert [s["metadata"]["name"] for s in secrets] == [SECRET]

    # The command the message gives fixes it, as written (a shell runs the value's generator).
    fix = re.search(r"e\.g\. (kubectl .*)$", failed.stderr.strip()).group(1)
    subprocess.run(
        ["bash", "-c", f"{fix} --kubeconfig {local_cluster.kubeconfig}"],
        check=True,
        env=tool_env(),
        capture_output=True,
        text=True,
    )
    data = local_cluster.get_json("secret", SECRET, "--namespace", namespace)["data"]
    added = base64.b64decode(data["listener-api-key"]).decode()
    assert re.fullmatch(r"lgcp_[0-9a-f]{48}", added)

    installed = deploy("install")
    assert installed.returncode == 0, installed.stderr

    # The entry removed again: the upgrade stops before it changes anything.
    local_cluster.kubectl(
        "patch",
        "secret",
        SECRET,
        "--namespace",
        namespace,
        "--type",
        "json",
        "-p",
        json.dumps([{"op": "remove", "path": "/data/listener-api-key"}]),
    )
    refused = deploy("upgrade")
    assert refused.returncode != 0
    assert "(secrets.existingSecret) has no listener-api-key" in refused.stderr
    history = json.loads(helm("history", RELEASE, "--output", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "deployed")]
