"""The log collector redacts the values of `secret_references` (issue 17): keys an agent reads
from Secrets of its namespace, whose values the API never knows. Against the local cluster: the
collector reads the Secret itself, on every collection (a Secret changes without a revision).
And the log request itself is one the API server accepts."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from harness.cluster import LocalCluster, restricted_security_context
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.kube.client import Kube
from lgcp_listener.logs.collector import LogCollector
from lgcp_listener.logs.lines import REDACTED, Entry

pytestmark = pytest.mark.cluster
REFERENCED = "ref-token-held-in-the-cluster"
ROTATED = "ref-token-after-rotation"
UNREFERENCED = "another-key-of-that-secret"


def desired(namespace: str, secret_name: str = "agent-refs") -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": "6c0e2a11-9b3d-4f4e-8a57-2f1d9e0c4b7a",
            "name": "agent",
            "namespace": namespace,
            "source_config": {},
            "secrets": [],
            "secret_references": [{"name": "TOKEN", "secret_name": secret_name, "secret_key": "token"}],
            "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "DEPLOYING"},
        }
    )


def secret(namespace: str, token: str) -> str:
    encoded = base64.b64encode(token.encode()).decode()
    other = base64.b64encode(UNREFERENCED.encode()).decode()
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: agent-refs, namespace: {namespace}}}
data: {{token: {encoded}, other: {other}}}
"""


def pod_with_event(namespace: str, deployment_id: str, event: str, words: str) -> str:
    """The agent's pod (labelled as the listener renders it) and one event of it saying `words`."""
    labels = {L.DEPLOYMENT_ID: deployment_id, L.COMPONENT: "langgraph-server", L.REVISION_ID: "r1"}
    container = {
        "name": "langgraph-server",
        "image": "registry/agent:1",
        "securityContext": restricted_security_context(1000),
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "agent-pod", "namespace": namespace, "labels": labels},
        "spec": {"containers": [container]},
    }
    happened = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event, "namespace": namespace},
        "involvedObject": {"kind": "Pod", "name": "agent-pod", "namespace": namespace},
        "reason": "BackOff",
        "message": words,
        "type": "Warning",
        "count": 1,
        "lastTimestamp": "2026-12-01T10:05:00Z",
    }
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod, happened]})


def back_off(entries: list[Entry]) -> list[str]:
    return [e.message for e in entries if "BackOff" in e.message]


async def test_a_referenced_secrets_value_is_redacted_and_read_again_after_a_rotation(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    agent = desired(namespace)
    local_cluster.apply(secret(namespace, REFERENCED))
    local_cluster.apply(pod_with_event(namespace, agent.id, "first", f"token={REFERENCED} other={UNREFERENCED}"))
    collector = LogCollector(kube)
    [line] = back_off(await collector.collect(agent))
    assert REFERENCED not in line and f"token={REDACTED}" in line, line
    # Only the key the agent reads is redacted: it cannot read the Secret's other keys.
    assert f"other={UNREFERENCED}" in line, line

    local_cluster.apply(secret(namespace, ROTATED))
    local_cluster.apply(pod_with_event(namespace, agent.id, "second", f"rotated={ROTATED}"))
    [line] = back_off(await collector.collect(agent))
    assert ROTATED not in line and f"rotated={REDACTED}" in line, line


async def test_a_referenced_secret_that_is_gone_holds_up_nothing(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    agent = desired(namespace, secret_name="not-there")
    local_cluster.apply(pod_with_event(namespace, agent.id, "only", "plain words"))
    assert back_off(await LogCollector(kube).collect(agent)) == ["agent-pod: BackOff: plain words"]


async def test_the_api_server_accepts_the_log_request(
    local_cluster: LocalCluster, namespace: str, kube: Kube, caplog: pytest.LogCaptureFixture
) -> None:
    """The API server answers `Accept: text/plain` on pods/log with 406 (it negotiates its own
    media types only), which once hid every container line on the real node."""
    agent = desired(namespace, secret_name="not-there")
    local_cluster.apply(pod_with_event(namespace, agent.id, "any", "words"))
    with caplog.at_level(logging.WARNING, logger="lgcp_listener.logs.collector"):
        await LogCollector(kube).collect(agent)
    assert [r.getMessage() for r in caplog.records] == []
