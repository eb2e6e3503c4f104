"""Fixtures of the chart suite: restricted namespaces on the local cluster."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from harness.cluster import LocalCluster

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}


def create_restricted_namespace(cluster: LocalCluster, name: str) -> None:
    """A namespace that enforces (and warns about) Pod Security "restricted"."""
    labels = "\n".join(f"    {key}: {value}" for key, value in RESTRICTED.items())
    cluster.apply(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n{labels}\n")


@pytest.fixture
def restricted_namespaces(local_cluster: LocalCluster) -> Callable[[str], str]:
    """Makes restricted namespaces named `<prefix>-<random>`, deleted after the test."""
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        create_restricted_namespace(local_cluster, name)
        made.append(name)
        return name

    yield make
    for name in made:
        local_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
        # The agents' namespace a release there created by default, which `helm uninstall` keeps.
        local_cluster.kubectl(
            "delete", "namespace", f"{name}-agents", "--ignore-not-found", "--wait=false", check=False
        )
