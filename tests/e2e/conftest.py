"""The e2e suite's stack: the chart installed on the local cluster and run by scripts/local_stack.py,
the module behind `make demo`, once per session in a namespace of its own."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"
sys.path.insert(0, str(REPO / "scripts"))
from local_stack import LocalStack, StackConfig  # noqa: E402


@pytest.fixture(scope="session")
def stack(local_cluster) -> LocalStack:
    """`helm upgrade --install` with values/local.yaml, then Postgres, Redis, the API and the listener."""
    # Not under pytest's private tmp folder: PostgreSQL runs as the `postgres` user when we are root.
    state = Path(tempfile.mkdtemp(prefix="lgcp-e2e-"))
    state.chmod(0o711)
    config = StackConfig(state=state, kubeconfig=local_cluster.kubeconfig,
                         namespace=f"lgcp-e2e-{uuid.uuid4().hex[:6]}", api_port=None)
    running = LocalStack(config)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        local_cluster.kubectl("delete", "namespace", config.namespace, "--wait=false", check=False)
        running.delete_kept_namespaces(wait=False)  # the agents' namespace outlives the release
        # The processes' logs are kept for a failed run (CI uploads artifacts/).
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        shutil.copytree(state / "logs", ARTIFACTS, dirs_exist_ok=True)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def api(stack: LocalStack) -> httpx.Client:
    """The v2 API as the admin: the key read from the release's Secret, as a user would."""
    with stack.admin_client() as client:
        yield client
