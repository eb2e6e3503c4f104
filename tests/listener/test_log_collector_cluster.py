"""The log collector against the local cluster (issue 17): it finds an agent's pods by label,
turns their Kubernetes events into entries once each, and redacts secret values. Container log
lines need real pods (the real-node suite); here a pod whose log cannot be read yields none."""

from __future__ import annotations

import pytest
from harness.cluster import LocalCluster
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.kube.client import Kube
from lgcp_listener.logs.collector import LogCollector
from lgcp_listener.logs.lines import REDACTED

pytestmark = pytest.mark.cluster
SECRET = "sk-printed-by-the-agent"


def desired(namespace: str) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": "4b1f7a52-1d7e-4c55-9e21-0d5a3f1b2c3d",
            "name": "agent",
            "namespace": namespace,
            "source_config": {},
            "secrets": [{"name": "OPENAI_API_KEY", "value": SECRET}],
            "secret_references": [],
            "revision": {"id": "r1", "image_uri": "registry/agent:1", "status": "DEPLOYING"},
        }
    )


def pod_and_event(namespace: str, deployment_id: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: agent-pod
  namespace: {namespace}
  labels:
    {L.DEPLOYMENT_ID}: {deployment_id}
    {L.COMPONENT}: langgraph-server
    {L.REVISION_ID}: r1
spec:
  securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
  containers:
    - name: langgraph-server
      image: registry/agent:1
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {{drop: [ALL]}}
        runAsUser: 1000
---
apiVersion: v1
kind: Event
metadata:
  name: agent-pod.back-off
  namespace: {namespace}
involvedObject: {{kind: Pod, name: agent-pod, namespace: {namespace}}}
reason: BackOff
message: "Back-off restarting failed container; last words: key={SECRET}"
type: Warning
count: 3
firstTimestamp: "2026-12-01T10:00:00Z"
lastTimestamp: "2026-12-01T10:05:00Z"
---
apiVersion: v1
kind: Event
metadata:
  name: other-pod.pulled
  namespace: {namespace}
involvedObject: {{kind: Pod, name: other-pod, namespace: {namespace}}}
reason: Pulled
message: "not this agent's"
type: Normal
"""


async def test_events_of_the_agents_pods_once_each_and_redacted(
    local_cluster: LocalCluster, namespace: str, kube: Kube
) -> None:
    agent = desired(namespace)
    local_cluster.apply(pod_and_event(namespace, agent.id))
    collector = LogCollector(kube)
    entries = await collector.collect(agent)
    events = [e for e in entries if e.origin == "event"]
    assert all("not this agent's" not in e.message for e in events), events
    back_off = [e for e in events if "BackOff" in e.message]  # the cluster adds its own (Scheduled)
    assert len(back_off) == 1, entries
    event = back_off[0]
    assert event.level == "WARNING" and event.revision_id == "r1"
    assert "BackOff" in event.message and SECRET not in event.message and REDACTED in event.message
    assert all(SECRET not in e.message for e in entries)
    # Read again: nothing new.
    assert [e for e in await collector.collect(agent) if "BackOff" in e.message] == []
    collector.forget(set())
    assert collector.cursors == {}
