"""Secret values never leak (issue 14): with known values, an agent is created, changed,
redeployed and deleted through the real API, reconciled by the real listener into the local
cluster; then every line of the API's log, the listener's log, PostgreSQL's log and the
namespace's Kubernetes events, and every answer the API gave, is searched for them.

The listener's desired-state answers are left out: they are the one channel meant to carry the
values (decrypted, to the listener key only), and they are what the agents' env Secrets are
made from.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "listener"))

from listener_support import eventually, make_namespace
from processes_support import Stack, start_api

pytestmark = pytest.mark.cluster


@pytest.fixture
async def chatty_stack(local_cluster, postgres_server, redis_server):
    """A Stack on an API of its own logging at INFO (the suite's logs at WARNING)."""
    database_url = await postgres_server.create_database(f"lgcp_leak_{uuid.uuid4().hex[:8]}")
    api = start_api(database_url, redis_server.url(0), log_level="INFO")
    admin = api.admin()
    key = (await admin.post("/api-keys", json={"name": "listener", "role": "listener"})).json()["key"]
    admin_db = await postgres_server.create_database(f"dp_{uuid.uuid4().hex[:8]}")
    namespace = make_namespace(local_cluster)
    stack = Stack(api, local_cluster, postgres_server, redis_server, admin, namespace, key, admin_db)
    yield stack
    stack.stop()
    await admin.aclose()
    api.stop()
    local_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def collect(stack: Stack, postgres_server, answers: list[str]) -> dict[str, list[str]]:
    """Every line to search, by where it comes from."""
    events = stack.cluster.kubectl("get", "events", "-n", stack.namespace, "-o", "json").stdout
    return {
        "API log": stack.api.log.read_text(errors="replace").splitlines(),
        "listener log": [line for listener in stack.listeners for line in listener.output().splitlines()],
        "PostgreSQL log": (postgres_server.folder / "postgres.log").read_text(errors="replace").splitlines(),
        "Kubernetes events": [json.dumps(item) for item in json.loads(events)["items"]],
        "API answers": answers,
    }


def record(summary: dict) -> None:
    folder = Path("artifacts/security")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret-leaks.json").write_text(json.dumps(summary))


async def test_no_secret_value_reaches_a_log_an_event_or_an_answer(chatty_stack: Stack, postgres_server) -> None:
    stack = chatty_stack
    secrets = {f"sk-leak-first-{uuid.uuid4().hex}", f"sk-leak-second-{uuid.uuid4().hex}"}
    first_value, second_value = sorted(secrets)
    answers: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        answers.append(response.text)

    stack.admin.event_hooks["response"].append(keep)
    stack.start(LGCP_LISTENER_LOG_LEVEL="DEBUG")
    listener_id = await stack.registered()
    body = {
        "name": f"leak-{uuid.uuid4().hex[:6]}",
        "source": "external_docker",
        "source_config": {
            "listener_id": listener_id,
            "listener_config": {"k8s_namespace": stack.namespace},
            "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128},
        },
        "source_revision_config": {"image_uri": "registry.test/agent:1"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": first_value}],
    }
    created = await stack.admin.post("/deployments", json=body)
    assert created.status_code == 201, created.text
    deployment = created.json()
    first = await stack.wait_revision(deployment, "DEPLOYED")
    # The value did reach the agent (so the search below looks for something real).
    env = stack.cluster.get_json("secret", f"{deployment['name']}-env", "-n", stack.namespace)
    assert any(first_value.encode() in base64.b64decode(v) for v in env["data"].values())

    patched = await stack.admin.patch(
        f"/deployments/{deployment['id']}",
        json={
            "secrets": [{"name": "OPENAI_API_KEY", "value": second_value}],
            "source_revision_config": {"image_uri": "registry.test/agent:2"},
        },
    )
    assert patched.status_code == 200, patched.text
    await stack.wait_revision(deployment, "DEPLOYED")
    redeployed = await stack.admin.post(f"/deployments/{deployment['id']}/revisions/{first['id']}/redeploy")
    assert redeployed.status_code == 201, redeployed.text
    await stack.wait_revision(deployment, "DEPLOYED", redeployed.json()["id"])
    for path in ("", "/revisions", f"/revisions/{first['id']}", f"/revisions/{first['id']}/logs", "/manifests"):
        assert (await stack.admin.get(f"/deployments/{deployment['id']}{path}")).status_code == 200, path
    assert (await stack.admin.post(f"/deployments/{deployment['id']}/logs", json={})).status_code == 200
    assert (await stack.admin.delete(f"/deployments/{deployment['id']}")).status_code == 204

    async def gone() -> bool:
        return (await stack.admin.get(f"/deployments/{deployment['id']}")).status_code == 404

    await eventually(gone, 60)
    stack.stop()

    sources = collect(stack, postgres_server, answers)
    found = [
        f"{where}: {line[:200]}"
        for where, lines in sources.items()
        for line in lines
        for value in secrets
        if value in line
    ]
    searched = {where: len(lines) for where, lines in sources.items()}
    assert searched["API log"] > 0 and searched["listener log"] > 0 and searched["API answers"] > 10, searched
    print(f"secret leak check: {len(secrets)} values x {sum(searched.values())} lines/answers searched {searched}")
    record({"values": len(secrets), "searched": searched, "found": len(found)})
    assert not found, "secret values found:\n" + "\n".join(found)
