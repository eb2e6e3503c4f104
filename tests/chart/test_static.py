"""Chart checks that need no cluster: lint, helm-unittest under both helms, ct lint, the README."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from chart_commands import CHART, ENVIRONMENTS, HELMS, REPO, VALUES_DIR, render, run


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_helm_lint_accepts_every_environment(helm: str, environment: str) -> None:
    out = run(helm, "lint", CHART, "--strict", "-f", VALUES_DIR / f"{environment}.yaml").stdout
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("helm", HELMS)
def test_rendering_the_defaults_without_a_hostname_fails_with_the_fix(helm: str) -> None:
    proc = run(helm, "template", "lgcp", CHART, check=False)
    assert proc.returncode != 0
    assert "langsmith.hostname is required" in proc.stdout + proc.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_helm_unittest_suites_pass(helm: str) -> None:
    out = run(helm, "unittest", CHART).stdout
    suites = len(list((CHART / "tests").glob("*_test.yaml")))
    assert re.search(rf"Test Suites:\s+{suites} passed, {suites} total", out), out


def test_ct_lint_passes(tmp_path: Path) -> None:
    # A copy: ct's `helm dependency build` writes Chart.lock, which must not land in the checkout.
    shutil.copytree(REPO / "charts", tmp_path / "charts")
    shutil.copy(REPO / "ct.yaml", tmp_path / "ct.yaml")
    (tmp_path / ".tools").symlink_to(REPO / ".tools")
    run("git", "init", "-q", cwd=tmp_path)
    out = run("ct", "lint", "--config", "ct.yaml", cwd=tmp_path).stdout
    assert "All charts linted successfully" in out


def test_chart_readmes_are_generated_from_the_values(tmp_path: Path) -> None:
    shutil.copytree(REPO / "charts", tmp_path / "charts")
    run("bash", REPO / "scripts" / "chart-docs.sh", tmp_path)
    readmes = sorted(p.relative_to(tmp_path) for p in (tmp_path / "charts").rglob("README.md"))
    assert len(readmes) == 3
    for readme in readmes:
        assert (tmp_path / readme).read_text() == (REPO / readme).read_text(), (
            f"{readme} is out of date: run scripts/chart-docs.sh and commit the result"
        )


@pytest.mark.parametrize("readme", ["README.md", "charts/postgres/README.md", "charts/redis/README.md"])
def test_every_value_has_a_description(readme: str) -> None:
    rows = [line for line in (CHART / readme).read_text().splitlines() if re.match(r"^\| [a-zA-Z]", line)]
    values = [
        row
        for row in rows
        if row.count("|") >= 5 and not row.startswith("| Key") and not row.startswith("| Repository")
    ]
    assert len(values) > 10
    undocumented = [row.split("|")[1].strip() for row in values if not row.rstrip(" |").split("|")[-1].strip()]
    assert undocumented == []


def test_inline_secret_values_appear_only_in_secrets() -> None:
    sentinel = "sentinel-9f3c2e"
    documents = render(
        "helm",
        "--set",
        "langsmith.hostname=langsmith.example.com",
        "--set",
        f"langsmith.apiKey={sentinel}-api",
        "--set",
        f"langsmith.licenseKey={sentinel}-license",
    )
    leaking = [d["metadata"]["name"] for d in documents if d["kind"] != "Secret" and sentinel in yaml.safe_dump(d)]
    assert leaking == []
    secrets = [d for d in documents if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-langsmith")]
    assert len(secrets) == 1 and set(secrets[0]["data"]) == {"langsmith-api-key", "license-key"}


# Kubernetes structures whose schema admits standard fields the defaults leave out.
KUBERNETES_SHAPES = {
    "podSecurityContext",
    "securityContext",
    "resources",
    "seccompProfile",
    "capabilities",
    "requests",
    "limits",
}


def _undocumented_schema_keys(schema: dict, values: dict, path: str = "") -> list[str]:
    missing = []
    for key, sub in schema.get("properties", {}).items():
        if key not in values:
            missing.append(f"{path}{key}")
        elif isinstance(values[key], dict) and key not in KUBERNETES_SHAPES:
            missing += _undocumented_schema_keys(sub, values[key], f"{path}{key}.")
    return missing


@pytest.mark.parametrize("chart", [".", "charts/postgres", "charts/redis"])
def test_schema_accepts_only_values_that_values_yaml_documents(chart: str) -> None:
    schema = json.loads((CHART / chart / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / chart / "values.yaml").read_text())
    assert schema.get("additionalProperties") is False
    assert _undocumented_schema_keys(schema, values) == []


@pytest.mark.parametrize("routing", ["ingress", "gateway"])
def test_every_name_fits_63_characters_and_is_unique_per_kind(routing: str) -> None:
    release = "r" * 53  # the longest release name helm accepts
    args = [
        "--set",
        "langsmith.hostname=langsmith.example.com",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--api-versions",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "--set",
        "api.replicas=2",
        "--set",
        "listener.replicas=2",
        "--set",
        "langsmith.apiKey=k",
    ]
    if routing == "gateway":
        args += [
            "--set",
            "langsmith.ingress.enabled=false",
            "--set",
            "langsmith.gateway.enabled=true",
            "--set",
            "langsmith.gateway.name=gw",
        ]
    documents = render("helm", *args, release=release)
    assert len(documents) > 30
    seen = set()
    for doc in documents:
        name = doc["metadata"]["name"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name), f"{doc['kind']} {name!r}"
        key = (doc["kind"], doc["metadata"].get("namespace"), name)
        assert key not in seen, f"two {doc['kind']}s named {name}"
        seen.add(key)
