"""The manifests preview: the listener's report (PUT) and what readers get back (GET)."""

from __future__ import annotations

import copy
import uuid

import pytest
from api_support import ADMIN_KEY, client_for, deployment_body

REDACTED = "<redacted>"
NOT_RENDERED = "not rendered yet: the listener has not picked this deployment up"


@pytest.fixture
async def listener_client(role_client):
    return await role_client("listener")


def rendered(name: str = "my-agent", image: str = "registry.example.com/team/agent:1.0.0") -> list[dict]:
    """Objects shaped like the listener's rendering, the Secret already redacted."""
    meta = {"name": name, "namespace": "agents", "labels": {"app.kubernetes.io/managed-by": "lgcp-listener"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {**meta, "name": f"{name}-env"},
            "data": {"DATABASE_URI": REDACTED, "OPENAI_API_KEY": REDACTED},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": copy.deepcopy(meta),
            "spec": {"template": {"spec": {"containers": [{"name": "langgraph-server", "image": image}]}}},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": copy.deepcopy(meta), "spec": {"ports": [{"port": 8000}]}},
    ]


async def put(client, deployment_id: str, revision_id: str, manifests: list) -> object:
    return await client.put(
        f"/listener-api/deployments/{deployment_id}/manifests",
        json={"revision_id": revision_id, "manifests": manifests},
    )


async def test_preview_is_404_with_a_clear_detail_until_the_listener_reports(admin, deployment):
    response = await admin.get(f"/deployments/{deployment['id']}/manifests")
    assert response.status_code == 404
    assert response.json() == {"detail": NOT_RENDERED}


async def test_report_is_stored_served_to_readers_and_replaced_by_the_next(
    admin, deployment, listener_client, role_client
):
    first = rendered()
    response = await put(listener_client, deployment["id"], deployment["latest_revision_id"], first)
    assert response.status_code == 204, response.text
    for role in ("viewer", "deployer"):
        reader = await role_client(role)
        got = await reader.get(f"/deployments/{deployment['id']}/manifests")
        assert got.status_code == 200, (role, got.text)
        assert got.json()["manifests"] == first
        assert got.json()["revision_id"] == deployment["latest_revision_id"]
    rendered_at = got.json()["rendered_at"]

    # A new revision: the listener's next report replaces the stored one.
    patched = await admin.patch(
        f"/deployments/{deployment['id']}",
        json={"source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}},
    )
    second_revision = patched.json()["latest_revision_id"]
    assert second_revision != deployment["latest_revision_id"]
    second = rendered(image="registry.example.com/team/agent:2")
    assert (await put(listener_client, deployment["id"], second_revision, second)).status_code == 204
    got = (await admin.get(f"/deployments/{deployment['id']}/manifests")).json()
    assert got["revision_id"] == second_revision and got["manifests"] == second
    assert got["rendered_at"] > rendered_at


async def test_only_listeners_report_and_only_readers_read(app, deployment, listener_client, role_client):
    viewer = await role_client("viewer")
    deployer = await role_client("deployer")
    url = f"/deployments/{deployment['id']}/manifests"
    for client in (viewer, deployer):
        assert (await put(client, deployment["id"], deployment["latest_revision_id"], rendered())).status_code == 403
    assert (await listener_client.get(url)).status_code == 403
    async with client_for(app, None) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
        assert (await put(anonymous, deployment["id"], deployment["latest_revision_id"], rendered())).status_code == 401
    assert (await viewer.get(url)).json() == {"detail": NOT_RENDERED}  # nothing was stored


async def test_other_tenants_deployment_is_404_both_ways(app, admin, deployment, listener_client):
    tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        keys = {
            role: (await other_admin.post("/api-keys", json={"name": role, "role": role})).json()["key"]
            for role in ("listener", "viewer")
        }
    async with client_for(app, keys["listener"]) as other_listener:
        response = await put(other_listener, deployment["id"], deployment["latest_revision_id"], rendered())
        assert response.status_code == 404 and response.json() == {"detail": "deployment not found"}
    assert (
        await put(listener_client, deployment["id"], deployment["latest_revision_id"], rendered())
    ).status_code == 204
    async with client_for(app, keys["viewer"]) as other_viewer:
        response = await other_viewer.get(f"/deployments/{deployment['id']}/manifests")
        assert response.status_code == 404 and response.json() == {"detail": "deployment not found"}
    missing = await admin.get(f"/deployments/{uuid.uuid4()}/manifests")
    assert missing.status_code == 404 and missing.json() == {"detail": "deployment not found"}


def _with(change) -> list:
    manifests = rendered()
    change(manifests)
    return manifests


@pytest.mark.parametrize(
    "manifests, loc",
    [
        (
            _with(lambda m: m[0]["data"].update(OPENAI_API_KEY="c2stdmVyeS1zZWNyZXQ=")),
            ["body", "manifests", 0, "data", "OPENAI_API_KEY"],
        ),
        (
            _with(lambda m: m[0].update(stringData={"TOKEN": "sk-very-secret-value"})),
            ["body", "manifests", 0, "stringData", "TOKEN"],
        ),
        (_with(lambda m: m[0].update(data="sk-very-secret-value")), ["body", "manifests", 0, "data"]),
        (_with(lambda m: m[1].pop("kind")), ["body", "manifests", 1, "kind"]),
        (_with(lambda m: m[2].update(apiVersion="")), ["body", "manifests", 2, "apiVersion"]),
        (_with(lambda m: m[2]["metadata"].pop("name")), ["body", "manifests", 2, "metadata", "name"]),
        (_with(lambda m: m.append("sk-very-secret-value")), ["body", "manifests", 3]),
        ([], ["body", "manifests"]),
        (_with(lambda m: m[2]["metadata"].update(labels={"a": "x\u0000y"})), ["body", "manifests"]),
    ],
)
async def test_bad_report_names_the_field_echoes_no_value_and_stores_nothing(
    admin, deployment, listener_client, manifests, loc
):
    response = await put(listener_client, deployment["id"], deployment["latest_revision_id"], copy.deepcopy(manifests))
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [loc]
    assert "sk-very-secret-value" not in response.text and "c2stdmVyeS1zZWNyZXQ=" not in response.text
    assert (await admin.get(f"/deployments/{deployment['id']}/manifests")).json() == {"detail": NOT_RENDERED}


async def test_revision_of_another_deployment_is_refused(admin, listener, deployment, listener_client):
    other = (await admin.post("/deployments", json=deployment_body(listener["id"], "other-agent"))).json()
    for revision_id in (other["latest_revision_id"], str(uuid.uuid4())):
        response = await put(listener_client, deployment["id"], revision_id, rendered())
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "revision_id"]
    assert (await admin.get(f"/deployments/{deployment['id']}/manifests")).status_code == 404


async def test_preview_goes_with_the_deployment(admin, deployment, listener_client):
    assert (
        await put(listener_client, deployment["id"], deployment["latest_revision_id"], rendered())
    ).status_code == 204
    assert (await admin.delete(f"/deployments/{deployment['id']}")).status_code == 204
    assert (await listener_client.post(f"/listener-api/deployments/{deployment['id']}/deleted")).status_code == 204
    response = await admin.get(f"/deployments/{deployment['id']}/manifests")
    assert response.status_code == 404 and response.json() == {"detail": "deployment not found"}
