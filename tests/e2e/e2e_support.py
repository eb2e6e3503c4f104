"""What the e2e tests look at: revisions through the API, the agent's objects in the cluster, its database."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlsplit

import httpx
import psycopg

from local_stack import LocalStack

DEPLOYMENT_ID_LABEL = "lgcp.dev/deployment-id"
# Every kind the listener could make for an agent (the design's list, plus what it must not make).
AGENT_KINDS = ("secrets", "deployments.apps", "services", "ingresses.networking.k8s.io",
               "horizontalpodautoscalers.autoscaling", "poddisruptionbudgets.policy",
               "statefulsets.apps", "configmaps", "networkpolicies.networking.k8s.io")


def eventually(check, what: str, timeout: float = 90, interval: float = 0.5):
    """Polls `check()` until it returns a truthy value; fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout}s (last: {last!r})")


def create(api: httpx.Client, stack: LocalStack, image: str, min_scale: int = 1, max_scale: int = 2,
           **secrets: str) -> dict:
    """POST /v2/deployments of an agent image on the chart's own listener."""
    body = {"name": f"e2e-{uuid.uuid4().hex[:8]}", "source": "external_docker",
            "source_config": {"listener_id": stack.listener_id(api),
                              "resource_spec": {"min_scale": min_scale, "max_scale": max_scale,
                                                "cpu": 0.1, "memory_mb": 128}},
            "source_revision_config": {"image_uri": image},
            "secrets": [{"name": k, "value": v} for k, v in secrets.items()]}
    response = api.post("/deployments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_revision(api: httpx.Client, deployment: dict, status: str, revision_id: str | None = None,
                  timeout: float = 90) -> dict:
    """The revision (the latest, unless given) once it has `status`."""
    def check():
        rid = revision_id or api.get(f"/deployments/{deployment['id']}").json()["latest_revision_id"]
        revision = api.get(f"/deployments/{deployment['id']}/revisions/{rid}").json()
        return revision if revision["status"] == status else None
    return eventually(check, f"revision {revision_id or 'latest'} of {deployment['name']} reaching {status}", timeout)


def agent_objects(stack: LocalStack, deployment: dict) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of everything in the cluster labelled with the deployment's id."""
    listed = stack.kubectl("get", ",".join(AGENT_KINDS), "--all-namespaces", "-o", "json",
                           "-l", f"{DEPLOYMENT_ID_LABEL}={deployment['id']}")

    return {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in json.loads(listed.stdout)["items"]
            if not o["metadata"].get("deletionTimestamp")}


def get(stack: LocalStack, kind: str, name: str) -> dict:

    return json.loads(stack.kubectl("get", kind, name, "-n", stack.agents_namespace, "-o", "json").stdout)


def agent_env(stack: LocalStack, deployment: dict) -> dict[str, str]:
    """The agent's environment Secret, decoded."""
    data = get(stack, "secret", f"{deployment['name']}-env")["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def running_images(stack: LocalStack, deployment: dict) -> list[str]:
    """Images of the agent's Ready pods."""
    pods = stack.kubectl("get", "pods", "-n", stack.agents_namespace, "-o", "json",
                         "-l", f"{DEPLOYMENT_ID_LABEL}={deployment['id']}")

    ready = []
    for pod in json.loads(pods.stdout)["items"]:
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        if conditions.get("Ready") == "True" and not pod["metadata"].get("deletionTimestamp"):
            ready.append(pod["spec"]["containers"][0]["image"])
    return sorted(ready)


def database_exists(stack: LocalStack, name: str) -> bool:
    """Whether the data-plane Postgres (the listener's admin connection) has database `name`."""
    with psycopg.connect(stack.service_env("listener")["LGCP_LISTENER_POSTGRES_ADMIN_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 1


def database_name(env: dict[str, str]) -> str:
    return urlsplit(env["DATABASE_URI"]).path.lstrip("/")
