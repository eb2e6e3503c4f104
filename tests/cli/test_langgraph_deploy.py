"""`langgraph deploy` and its subcommands, unchanged, against this control plane (issue 17).

The CLI runs as a subprocess, configured only by LANGGRAPH_HOST_URL and LANGGRAPH_HOST_API_KEY;
the listener's part (registering, shipping logs) is played through the listener API, as a
listener does."""

from __future__ import annotations

import datetime as dt
import json

# The CLI insists on digests for --image-uri (a tag may be cached by the kubelet).
IMAGE = "registry.example.com/team/my-agent@sha256:" + "a" * 64
NEXT_IMAGE = "registry.example.com/team/my-agent@sha256:" + "b" * 64


def register_listener(api, compute_id: str = "cluster-1") -> tuple[str, dict]:
    """A listener key and the listener it registers, with namespace `agents`."""
    with api.admin() as admin:
        key = admin.post("/api-keys", json={"name": compute_id, "role": "listener"}).json()["key"]
        response = admin.post(
            "/listeners", json={"compute_id": compute_id, "compute_config": {"k8s_namespaces": ["agents"]}}
        )
        assert response.status_code == 201, response.text
        return key, response.json()


def the_deployment(api, name: str) -> dict:
    with api.admin() as admin:
        found = admin.get("/deployments", params={"name": name}).json()["resources"]
    assert len(found) == 1, found
    return found[0]


def ship_logs(api, key: str, deployment: dict, entries: list[dict]) -> None:
    import httpx

    response = httpx.post(
        f"{api.v2}/listener-api/deployments/{deployment['id']}/logs",
        headers={"X-Api-Key": key},
        json={"entries": entries},
        timeout=30,
    )
    assert response.status_code == 204, response.text


def test_the_deploy_family_end_to_end(api, langgraph):
    key, listener = register_listener(api)
    created = langgraph(
        "deploy",
        "--name",
        "my-agent",
        "--image-uri",
        IMAGE,
        "--image-pull-secret",
        "regcred",
        "--listener-id",
        listener["id"],
        "--k8s-namespace",
        "agents",
        "--no-wait",
    )
    deployment = the_deployment(api, "my-agent")
    assert deployment["id"] in created.stdout + created.stderr
    assert deployment["source_config"]["resource_spec"]["image_pull_secrets"] == [{"name": "regcred"}]
    assert deployment["source_config"]["listener_config"]["k8s_namespace"] == "agents"
    # The status link it prints leads to the UI page.
    link = f"{api.root}/o/{deployment['tenant_id']}/host/deployments/{deployment['id']}"
    assert link in created.stdout + created.stderr

    listing = langgraph("deploy", "list")
    assert "my-agent" in listing.stdout and deployment["id"] in listing.stdout

    langgraph("deploy", "--name", "my-agent", "--image-uri", NEXT_IMAGE, "--no-wait")
    updated = the_deployment(api, "my-agent")
    assert updated["source_revision_config"]["image_uri"] == NEXT_IMAGE
    revisions = langgraph("deploy", "revisions", "list", deployment["id"])
    assert updated["latest_revision_id"] in revisions.stdout and deployment["latest_revision_id"] in revisions.stdout

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = [(now - dt.timedelta(minutes=10 - i)).isoformat() for i in range(4)]
    ship_logs(
        api,
        key,
        updated,
        [
            {
                "timestamp": at[0],
                "level": "INFO",
                "message": "server starting",
                "revision_id": updated["latest_revision_id"],
            },
            {"timestamp": at[1], "level": "WARNING", "message": "slow postgres", "origin": "event"},
            {
                "timestamp": at[2],
                "level": "ERROR",
                "message": "Traceback: crash looping",
                "revision_id": updated["latest_revision_id"],
            },
            {"timestamp": at[3], "level": "INFO", "message": "OPENAI_API_KEY=[REDACTED]", "origin": "listener"},
        ],
    )
    every = langgraph("deploy", "logs", "--name", "my-agent").stdout
    assert every.index("server starting") < every.index("Traceback: crash looping")  # oldest first on screen
    assert "[ERROR] Traceback: crash looping" in every
    errors = langgraph("deploy", "logs", "--deployment-id", deployment["id"], "--level", "error").stdout
    assert "crash looping" in errors and "server starting" not in errors
    found = langgraph("deploy", "logs", "--name", "my-agent", "-q", "POSTGRES").stdout
    assert "slow postgres" in found and "crash looping" not in found
    window = langgraph("deploy", "logs", "--name", "my-agent", "--start-time", at[1], "--end-time", at[3]).stdout
    assert "slow postgres" in window and "crash looping" in window and "server starting" not in window
    newest = langgraph("deploy", "logs", "--name", "my-agent", "--limit", "1").stdout
    assert "REDACTED" in newest and "crash looping" not in newest
    by_revision = langgraph(
        "deploy", "logs", "--name", "my-agent", "--revision-id", updated["latest_revision_id"]
    ).stdout
    assert "crash looping" in by_revision and "slow postgres" not in by_revision
    build = langgraph("deploy", "logs", "--name", "my-agent", "--type", "build").stdout
    assert "prebuilt images" in build

    langgraph("deploy", "delete", deployment["id"], "--force")
    with api.admin() as admin:
        assert admin.get(f"/deployments/{deployment['id']}").json()["status"] == "AWAITING_DELETE"


def test_without_a_listener_id_the_cli_asks_for_one(api, langgraph):
    register_listener(api, "cluster-1")
    register_listener(api, "cluster-2")
    result = langgraph("deploy", "--name", "my-agent", "--image-uri", IMAGE, "--no-wait", check=False)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    # The CLI shows our string detail, not raw JSON.
    assert "'listener_id' is required" in out and '{"detail"' not in out


def test_with_one_listener_the_cli_needs_no_listener_id(api, langgraph):
    _, listener = register_listener(api)
    langgraph("deploy", "--name", "solo", "--image-uri", IMAGE, "--no-wait")
    assert the_deployment(api, "solo")["source_config"]["listener_id"] == listener["id"]


def test_the_json_list_is_what_the_api_answers(api, langgraph):
    _, listener = register_listener(api)
    langgraph("deploy", "--name", "my-agent", "--image-uri", IMAGE, "--listener-id", listener["id"], "--no-wait")
    listed = langgraph("deploy", "list", "--json", check=False)
    if listed.returncode == 0 and listed.stdout.strip().startswith(("[", "{")):
        assert "my-agent" in json.dumps(json.loads(listed.stdout))
    else:
        assert "my-agent" in listed.stdout
