"""The Go-built tools report the versions pinned in tools/versions.env."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".tools" / "bin"


def pinned() -> dict[str, str]:
    values = {}
    for line in (REPO / "tools" / "versions.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


PINS = pinned()


def run(*args: str) -> str:
    env = {**os.environ, "HELM_PLUGINS": str(REPO / ".tools" / "helm-plugins")}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, f"{args} failed: {proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("binary", "pin"),
    [("helm", "HELM3_VERSION"), ("helm4", "HELM4_VERSION")],
)
def test_helm_reports_its_pinned_version(binary: str, pin: str) -> None:
    assert run(str(BIN / binary), "version", "--template", "{{ .Version }}").strip() == PINS[pin]


@pytest.mark.parametrize("binary", ["helm", "helm4"])
def test_helm_assumes_a_current_kubernetes_version(binary: str, tmp_path: Path) -> None:
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
    )
    rendered = run(str(BIN / binary), "template", str(chart))
    minor = int(rendered.split('kube: "v1.')[1].split(".")[0])
    assert minor >= int(PINS["KUBE_DEFAULT_MINOR"]), rendered


@pytest.mark.parametrize("binary", ["helm", "helm4"])
def test_helm_unittest_plugin_runs_under_both_helms(binary: str) -> None:
    out = run(str(BIN / binary), "unittest", "--help")
    assert "unittest" in out and "--file" in out


def test_chart_testing_reports_its_pinned_version() -> None:
    assert PINS["CT_VERSION"] in run(str(BIN / "ct"), "version")


@pytest.mark.parametrize(
    "binary", ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]
)
def test_kubernetes_binaries_report_the_pinned_version(binary: str) -> None:
    assert run(str(BIN / binary), "--version").strip() == f"Kubernetes {PINS['KUBE_VERSION']}"


def test_kubectl_reports_the_pinned_version() -> None:
    assert f"Client Version: {PINS['KUBE_VERSION']}" in run(str(BIN / "kubectl"), "version", "--client")


def test_etcd_reports_the_pinned_version() -> None:
    assert f"etcd Version: {PINS['ETCD_VERSION'].lstrip('v')}" in run(str(BIN / "etcd"), "--version")


def test_kwokctl_reports_the_pinned_version() -> None:
    assert PINS["KWOK_VERSION"].lstrip("v") in run(str(BIN / "kwokctl"), "--version")


@pytest.mark.parametrize(("binary", "flag"), [("containerd", "--version"), ("ctr", "--version")])
def test_containerd_reports_the_pinned_version(binary: str, flag: str) -> None:
    assert f"containerd/v2 {PINS['CONTAINERD_VERSION']}" in run(str(BIN / binary), flag)


def test_coredns_reports_the_pinned_version() -> None:
    assert f"CoreDNS-{PINS['COREDNS_VERSION'].lstrip('v')}" in run(str(BIN / "coredns"), "-version")


def test_traefik_reports_the_pinned_version() -> None:
    assert f"Version:      {PINS['TRAEFIK_VERSION']}" in run(str(BIN / "traefik"), "version")


def test_gateway_api_crds_are_the_pinned_bundle() -> None:
    crds = (REPO / ".tools" / "real-node" / "gateway-api-crds.yaml").read_text()
    assert f"gateway.networking.k8s.io/bundle-version: {PINS['GATEWAY_API_VERSION']}" in crds
    assert "gateway.networking.k8s.io/channel: standard" in crds


def test_kube_router_reports_the_pinned_version() -> None:
    assert f"version {PINS['KUBE_ROUTER_VERSION']}," in run(str(BIN / "kube-router"), "--version")
