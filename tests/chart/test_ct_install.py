"""`ct install --upgrade` on the local cluster: ci/ scenarios are installed from the previous
revision, upgraded to this one, and checked with `helm test`, in a namespace that enforces Pod
Security "restricted"."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from chart_commands import CHART, REPO, TOOLS_BIN, run, tool_env

pytestmark = pytest.mark.cluster

# ct installs every ci/ scenario three times (see helm_test_runs) and is slow on a loaded machine,
# so it gets the three whose install paths differ: in-chart stores (post-install migration),
# external ones (pre-install migration) and a data plane (no API, migration or control-plane
# Secret; a helm test of its own). Gateway routing also needs the Gateway API CRDs, which the local
# cluster does not have; HA is covered by the dry run of values/prod.yaml. All scenarios are linted
# by ct lint.
SCENARIOS = {"default-values.yaml", "external-values.yaml", "dataplane-values.yaml"}


# ct runs `helm` from PATH: this one runs the pinned helm and records each call with its exit
# status. ct's own output is no record of the helm tests: it copies helm's output from pipes it
# stops reading when helm exits (chart-testing v3.14 pkg/exec RunProcess), so a test's last
# lines can be missing (CI lost one "Phase: Succeeded" so).
HELM_RECORDER = """#!/usr/bin/env bash
"$LGCP_REAL_HELM" "$@"
status=$?
printf '%s %s\n' "$status" "$*" >>"$LGCP_HELM_CALLS"
exit $status
"""


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
    recorder = tmp_path / "recorder"
    recorder.mkdir()
    (recorder / "helm").write_text(HELM_RECORDER)
    (recorder / "helm").chmod(0o755)
    calls = tmp_path / "helm-calls"
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
        env={
            "KUBECONFIG": str(local_cluster.kubeconfig),
            "PATH": f"{recorder}:{tool_env()['PATH']}",
            "LGCP_REAL_HELM": str(TOOLS_BIN / "helm"),
            "LGCP_HELM_CALLS": str(calls),
        },
    )
    out = proc.stdout + proc.stderr
    assert "All charts installed successfully" in out
    runs = helm_runs(calls.read_text())
    assert set(runs) == set(scenarios), f"ct installed {sorted(runs)}, not {scenarios}"
    for scenario in scenarios:
        found = runs[scenario]
        assert found["failed"] == [], f"helm calls of {scenario} failed: {found['failed']}"
        # ct --upgrade: from the previous revision then upgraded, this revision then upgraded in
        # place, this revision alone; a helm test after every install and every upgrade.
        assert (found["installs"], found["upgrades"]) == (3, 2), found
        assert found["tests"] == found["installs"] + found["upgrades"], (
            f"helm test did not run after every install and upgrade of {scenario}: {found}"
        )
    # Each scenario's helm test is its own test pod (a data plane has no API to test), as far as
    # ct's output shows them (a lost line only hides one, never shows another).
    for scenario, suites in printed_test_suites(out).items():
        expected = "test-control-plane" if scenario.startswith("dataplane") else "test-api"
        assert suites == {expected}, f"{scenario}: {suites}"


def helm_runs(calls: str) -> dict[str, dict]:
    """Per ci/ scenario: its installs, upgrades and tests (each release's tests belong to the
    scenario it was installed with) and the calls that failed, from the recorder's lines."""
    runs: dict[str, dict] = {}
    scenario_of: dict[str, str] = {}
    for line in calls.splitlines():
        status, *args = shlex.split(line)
        verb, release = [*args, "", ""][:2]
        if verb in ("install", "upgrade"):
            values = next(a for a in args if re.search(r"/ci/[\w.-]+-values\.yaml$", a))
            scenario_of[release] = Path(values).name
        if verb not in ("install", "upgrade", "test"):
            continue
        found = runs.setdefault(scenario_of[release], {"installs": 0, "upgrades": 0, "tests": 0, "failed": []})
        found[{"install": "installs", "upgrade": "upgrades", "test": "tests"}[verb]] += 1
        if status != "0":
            found["failed"].append(line)
    return runs


def printed_test_suites(out: str) -> dict[str, set[str]]:
    """Per ci/ scenario, the test pods (name suffixes) of the helm tests ct printed for it."""
    suites: dict[str, set[str]] = {}
    current = None
    for line in out.splitlines():
        if installing := re.match(r'Installing chart (?:.* )?with values file ".*/ci/([\w.-]+)"', line):
            current = suites.setdefault(installing.group(1), set())
        elif current is not None and line.startswith("TEST SUITE:"):
            current.add(re.sub(r"^.*-(test-[a-z-]+)$", r"\1", line.split()[-1]))
    return suites
