"""Fixtures of the listener suite: a restricted namespace on the local cluster and a Kubernetes client."""

from __future__ import annotations

import pytest

from lgcp_listener.kube import Kube, connect
from listener_support import make_namespace


@pytest.fixture
def namespace(local_cluster):
    name = make_namespace(local_cluster)
    yield name
    local_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
async def kube(local_cluster):
    client = Kube(await connect(str(local_cluster.kubeconfig)))
    yield client
    await client.api.close()
