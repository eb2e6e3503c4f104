"""Fixtures of the fault suite: a kwok cluster of its own and a fresh control plane per case."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from harness.cluster import LocalCluster

# The listener suite's process helpers (ApiProcess, Stack, start_api, eventually) serve here too:
# one copy of how the API and listener are run as processes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "listener"))

from fault_plane import FAULTS, Plane


def pytest_collection_modifyitems(config, items) -> None:
    """The case that restarts the cluster runs last: after kwok's components restart, new pods
    stay unready for about 3.5 minutes (a plain `kubectl create deployment` took 205 s), which
    would slow every case after it."""
    restarting = [i for i in items if getattr(getattr(i, "module", None), "__name__", "") == "test_kube_api_down"]
    items[:] = [i for i in items if i not in restarting] + restarting


@pytest.fixture(scope="session")
def faults_cluster() -> LocalCluster:
    """The suite's own kwok cluster (started here, stopped at the end): restarting its API
    server never touches the shared cluster other suites run on."""
    yield FAULTS.up()
    FAULTS.script("down")


@pytest.fixture
async def plane(faults_cluster, postgres_server, redis_server):
    p = Plane(faults_cluster, postgres_server, redis_server)
    yield p
    await p.close()
