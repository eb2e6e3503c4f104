"""What `Release` reads off an installed release's listener, also for a data-plane-only release
whose listener key is a Secret made before the install (`listener.apiKeySecret`), which the
release's manifest does not hold: reading the compute id used to resolve every variable of the
listener and failed on that key (LookupError), so tests/e2e could not describe such a release."""

from __future__ import annotations

from pathlib import Path

from lgcp_local_stack.chart import RenderedChart
from lgcp_local_stack.node import Ingress, Node
from lgcp_local_stack.paths import LOCAL_VALUES
from lgcp_local_stack.release import Release, ReleaseConfig

DATA_PLANE = [
    "api.enabled=false",
    "listener.computeId=eu-1",
    "listener.controlPlane.url=https://langsmith.example.com/api-host",
    "listener.apiKeySecret=eu-listener-key",
]


def release_of(chart: RenderedChart, namespace: str) -> Release:
    # No cluster: the rendered chart stands for what `helm get manifest` answers.
    release = Release(
        Node(Path("/nonexistent"), Ingress("langsmith.lgcp.test", 80, "traefik")), ReleaseConfig(namespace=namespace)
    )
    release._chart = chart
    return release


def test_a_data_plane_release_with_its_key_in_a_secret_of_its_own_is_described() -> None:
    chart = RenderedChart.render([LOCAL_VALUES], release="lgcp-eu", namespace="lgcp-eu", set_values=DATA_PLANE)
    release = release_of(chart, "lgcp-eu")
    assert release.compute_id == "eu-1"
    assert release.agents_namespace == "lgcp-eu-agents"
    assert release.listener_setting("LGCP_LISTENER_API_URL") == "https://langsmith.example.com/api-host"


def test_a_full_release_is_described_as_before() -> None:
    chart = RenderedChart.render([LOCAL_VALUES], release="lgcp", namespace="lgcp")
    release = release_of(chart, "lgcp")
    assert release.compute_id == "lgcp"
    assert release.agents_namespace == "lgcp-agents"
    assert (
        release.listener_setting("LGCP_LISTENER_API_URL")
        == "http://lgcp-langgraph-controlplane-api.lgcp.svc:8080/api-host"
    )
