"""`ct install --upgrade` on the local cluster: ci/ scenarios are installed from the previous
revision, upgraded to this one, and checked with `helm test`, in a namespace that enforces Pod
Security "restricted"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chart_commands import CHART, REPO, run

pytestmark = pytest.mark.cluster

# ct installs every ci/ scenario twice (previous revision, then upgraded) and is slow on a loaded
# machine, so it gets the two whose install paths differ: in-chart stores (post-install
# migration) and external ones (pre-install migration). Gateway routing also needs the Gateway
# API CRDs, which the local cluster does not have; HA is covered by the dry run of values/prod.yaml.
# All scenarios are linted by ct lint.
SCENARIOS = {"default-values.yaml", "external-values.yaml"}


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
    assert out.count("Phase:          Succeeded") >= len(scenarios), "helm test did not pass for every scenario"
