"""Runtime logs from the cluster to `deploy logs` (issue 17): the running listener reads the
agent pods' events, redacts the deployment's secret values and ships them; the API serves them
at the v1 path langgraph-cli calls. (Container log lines need real pods: the real-node suite.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from listener_support import eventually
from processes_support import Stack

pytestmark = pytest.mark.cluster


async def test_pod_events_reach_deploy_logs_redacted(stack: Stack) -> None:
    stack.start()
    await stack.registered()
    secret = "sk-" + uuid.uuid4().hex
    body = {
        "name": f"agent-{uuid.uuid4().hex[:6]}",
        "source_config": {
            "listener_id": stack.listener_id,
            "listener_config": {"k8s_namespace": stack.namespace},
            "resource_spec": {"cpu": 0.1, "memory_mb": 128},
        },
        "source_revision_config": {"image_uri": "registry.test/agent:1"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": secret}],
    }
    created = await stack.admin.post("/deployments", json=body)
    assert created.status_code == 201, created.text
    deployment = created.json()
    pods = await eventually(lambda: stack.pods(deployment), 60)
    pod = pods[0]["metadata"]["name"]
    stack.cluster.apply(f"""
apiVersion: v1
kind: Event
metadata:
  name: {pod}.crash
  namespace: {stack.namespace}
involvedObject: {{kind: Pod, name: {pod}, namespace: {stack.namespace}}}
reason: BackOff
message: "container printed OPENAI_API_KEY={secret} and exited"
type: Warning
count: 1
""")
    logs_url = (
        str(stack.admin.base_url).rstrip("/").removesuffix("/v2") + f"/v1/projects/{deployment['id']}/deploy_logs"
    )

    async def shipped() -> list[dict[str, Any]] | None:
        response = await stack.admin.post(logs_url, json={"level": "WARNING", "query": "BackOff"})
        assert response.status_code == 200, response.text
        return response.json()["logs"] or None

    logs = await eventually(shipped, 60, interval=1)
    assert logs[0]["message"] == f"{pod}: BackOff: container printed OPENAI_API_KEY=[REDACTED] and exited"
    assert logs[0]["level"] == "WARNING" and logs[0]["revision_id"] == deployment["latest_revision_id"]
    everything = (await stack.admin.post(logs_url, json={"limit": 1000})).json()["logs"]
    assert all(secret not in entry["message"] for entry in everything)
