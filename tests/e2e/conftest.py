"""The e2e suite on the real local node: `make demo`'s own command (`python -m lgcp_local_stack up`)
installs a release of its own (namespace `lgcp-e2e-<id>`, base path `/e2e-<id>` on the node's
LangSmith host, beside any demo), and every test then works through the ingress and the API as a
user would. The session ends with `down`, which removes that release and its namespaces."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from agents import demo_command, save_logs
from lgcp_local_stack import images, node
from lgcp_local_stack.control_plane import ControlPlane
from lgcp_local_stack.release import Release, ReleaseConfig

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"

pytestmark = [pytest.mark.cluster, pytest.mark.images]


@dataclass
class Demo:
    """The release the demo command installed, and what it printed."""

    release: Release
    output: str
    state: Path


@pytest.fixture(scope="session")
def demo(real_cluster) -> Demo:
    images.build(images.E2E_IMAGES)  # what `make demo` has `make images` do first
    suffix = uuid.uuid4().hex[:6]
    state = Path(tempfile.mkdtemp(prefix="lgcp-e2e-"))
    options = ["--state", str(state), "--namespace", f"lgcp-e2e-{suffix}", "--base-path", f"/e2e-{suffix}"]
    release = Release(node.describe(), ReleaseConfig(namespace=f"lgcp-e2e-{suffix}", base_path=f"/e2e-{suffix}"))
    try:
        up = demo_command("up", *options)
        assert up.returncode == 0, f"the demo command failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        # The failure tests' crashing image, beside what the demo imported.
        images.import_into(release.node, ("crashing-agent",), state / "imported-images.json")
        yield Demo(release, up.stdout, state)
    finally:
        if release.installed():
            save_logs(release, ARTIFACTS)
        down = demo_command("down", *options, timeout=600)
        shutil.rmtree(state, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture
def plane(demo: Demo) -> ControlPlane:
    """The v2 API through the ingress as the admin (the key read from the release's Secret)."""
    with ControlPlane(demo.release.api_url, demo.release.admin_key) as client:
        yield client


@pytest.fixture(scope="session")
def listener_id(demo: Demo) -> str:
    with ControlPlane(demo.release.api_url, demo.release.admin_key) as client:
        return client.listener_id(demo.release.compute_id)
