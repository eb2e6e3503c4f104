"""`ct install --upgrade` on the local cluster: ci/ scenarios are installed from the previous
revision, upgraded to this one, and checked with `helm test`, in a namespace that enforces Pod
Security "restricted"."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from chart_commands import CHART, REPO, run

pytestmark = pytest.mark.cluster

# ct installs every ci/ scenario three times (see helm_test_runs) and is slow on a loaded machine,
# so it gets the three whose install paths differ: in-chart stores (post-install migration),
# external ones (pre-install migration) and a data plane (no API, migration or control-plane
# Secret; a helm test of its own). Gateway routing also needs the Gateway API CRDs, which the local
# cluster does not have; HA is covered by the dry run of values/prod.yaml. All scenarios are linted
# by ct lint.
SCENARIOS = {"default-values.yaml", "external-values.yaml", "dataplane-values.yaml"}


def git(*args: str, cwd: Path) -> None:
    run("git", "-c", "user.name=ct", "-c", "user.email=ct@localhost", *args, cwd=cwd)


def test_ct_install_with_upgrade_on_the_local_cluster(tmp_path: Path, local_cluster, restricted_namespaces) -> None:
    # ct compares against the previous revision on <remote>/<target-branch>: give it a copy of
    # the chart committed to a throwaway repository with a local "origin".
    work = tmp_path / "repo"
    shutil.copytree(REPO / "charts", work / "charts")
    shutil.copy(REPO / "ct.yaml", work / "ct.yaml")
    (work / ".tools").symlink_to(REPO / ".tools")
    for path in (work / CHART.relative_to(REPO) / "ci").glob("*-values.yaml"):
        if path.name not in SCENARIOS:
            path.unlink()
    scenarios = sorted(SCENARIOS)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "chart", cwd=work)
    git("clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"), cwd=tmp_path)
    git("remote", "add", "origin", str(tmp_path / "origin.git"), cwd=work)
    git("fetch", "-q", "origin", cwd=work)

    namespace = restricted_namespaces("lgcp-ct")
    proc = run(
        "ct",
        "install",
        "--config",
        "ct.yaml",
        "--upgrade",
        "--namespace",
        namespace,
        cwd=work,
        timeout=900,
        env={"KUBECONFIG": str(local_cluster.kubeconfig)},
    )
    out = proc.stdout + proc.stderr
    assert "All charts installed successfully" in out
    for scenario in scenarios:
        assert f"ci/{scenario}" in out, f"{scenario} was not installed"
    runs = helm_test_runs(out)
    for scenario in scenarios:
        expected = "test-control-plane" if scenario.startswith("dataplane") else "test-api"
        found = runs.get(scenario)
        assert found is not None and found["tests"], f"helm test did not run for {scenario}"
        # A helm test after every install and every upgrade of the scenario, each by its test pod.
        assert found["tests"] == [(expected, "Succeeded")] * (found["installs"] + found["upgrades"]), (
            f"helm test did not pass after every install and upgrade of {scenario}: {found}"
        )


def helm_test_runs(out: str) -> dict[str, dict]:
    """Per ci/ scenario: its installs and upgrades, and the (test pod suffix, phase) of each
    `helm test` that ct ran on them. ct (v3.14, --upgrade) installs each scenario three times
    (from the previous revision, then upgraded; this revision, then upgraded in place; this
    revision) and each time starts with an "Installing chart ... with values file" line."""
    runs: dict[str, dict] = {}
    current: dict | None = None
    suite = None
    for line in out.splitlines():
        if installing := re.match(r'Installing chart (?:.* )?with values file ".*/ci/([\w.-]+)"', line):
            current = runs.setdefault(installing.group(1), {"installs": 0, "upgrades": 0, "tests": []})
            current["installs"] += 1
        elif current is None:
            continue
        elif re.fullmatch(r'Release ".*" has been upgraded\. Happy Helming!', line):
            current["upgrades"] += 1
        elif line.startswith("TEST SUITE:"):
            suite = re.sub(r"^.*-(test-[a-z-]+)$", r"\1", line.split()[-1])
        elif suite and line.startswith("Phase:"):
            current["tests"].append((suite, line.split()[-1]))
            suite = None
    return runs
