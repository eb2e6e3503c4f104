"""API keys, roles and tenant isolation."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from api_support import ADMIN_KEY, client_for, deployment_body


async def test_missing_and_wrong_keys_are_401(app):
    async with client_for(app, None) as anonymous:
        response = await anonymous.get("/deployments")
        assert response.status_code == 401
        assert response.json() == {"detail": "X-Api-Key header is required"}
    async with client_for(app, "lgcp_not-a-key") as wrong:
        assert (await wrong.get("/deployments")).status_code == 401


async def test_keys_are_stored_only_as_an_hmac(admin, settings):
    created = (await admin.post("/api-keys", json={"name": "ci", "role": "deployer"})).json()
    key = created["key"]
    assert key.startswith("lgcp_")
    listed = (await admin.get("/api-keys")).json()["resources"]
    assert created["id"] in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        rows = await conn.fetch("SELECT * FROM api_keys")
    finally:
        await conn.close()
    stored = repr([dict(r) for r in rows])
    assert key not in stored and ADMIN_KEY not in stored
    assert key.encode() not in b"".join(r["key_hmac"] for r in rows)


async def test_revoked_key_is_401(app, admin):
    created = (await admin.post("/api-keys", json={"name": "tmp", "role": "viewer"})).json()
    async with client_for(app, created["key"]) as client:
        assert (await client.get("/deployments")).status_code == 200
        assert (await admin.delete(f"/api-keys/{created['id']}")).status_code == 204
        assert (await client.get("/deployments")).status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("viewer", "GET", "/deployments", 200),
        ("viewer", "POST", "/deployments", 403),
        ("viewer", "POST", "/listeners", 403),
        ("deployer", "POST", "/listeners", 403),
        ("deployer", "POST", "/api-keys", 403),
        ("listener", "GET", "/deployments", 403),
        ("listener", "POST", "/listener-api/register", 200),
        ("viewer", "POST", "/listener-api/register", 403),
        ("deployer", "POST", "/listener-api/register", 403),
        ("admin", "POST", "/listener-api/register", 403),
        ("deployer", "GET", "/audit-log", 403),
    ],
)
async def test_roles(role_client, role, method, path, expected):
    client = await role_client(role)
    bodies = {
        "/deployments": {},
        "/listeners": {"compute_id": "x"},
        "/api-keys": {"name": "x", "role": "viewer"},
        "/listener-api/register": {"compute_id": "c1", "k8s_namespaces": ["agents"]},
    }
    response = await client.request(method, path, json=bodies.get(path) if method == "POST" else None)
    assert response.status_code == expected, response.text


async def test_deployer_can_create_deployments(role_client, listener):
    deployer = await role_client("deployer")
    response = await deployer.post("/deployments", json=deployment_body(listener["id"]))
    assert response.status_code == 201


async def test_other_tenants_objects_answer_404(app, admin, deployment, listener):
    tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        key = (await other_admin.post("/api-keys", json={"name": "b", "role": "admin"})).json()["key"]
        other_listener_key = (
            await other_admin.post("/api-keys", json={"name": "b-listener", "role": "listener"})
        ).json()["key"]
    async with client_for(app, key) as other:
        assert (await other.get(f"/deployments/{deployment['id']}")).status_code == 404
        assert (await other.patch(f"/deployments/{deployment['id']}", json={})).status_code == 404
        assert (await other.delete(f"/deployments/{deployment['id']}")).status_code == 404
        assert (await other.get(f"/deployments/{deployment['id']}/revisions")).status_code == 404
        assert (await other.get(f"/listeners/{listener['id']}")).status_code == 404
        assert (await other.get("/deployments")).json()["resources"] == []
        # Names are unique per tenant only.
        other_listener = (await other.post("/listeners", json={"compute_id": "cluster-1"})).json()
        response = await other.post("/deployments", json=deployment_body(other_listener["id"]))
        assert response.status_code == 201
        # Another tenant's listener cannot be used.
        response = await other.post("/deployments", json=deployment_body(listener["id"], "x"))
        assert response.status_code == 400, response.text  # a rule refusal (issue 17)
    async with client_for(app, other_listener_key) as other_data_plane:
        assert (
            await other_data_plane.get(f"/listener-api/listeners/{listener['id']}/desired-state")
        ).status_code == 404
    assert (await admin.get(f"/deployments/{deployment['id']}")).status_code == 200


async def test_tenant_key_with_a_foreign_tenant_header_is_403(app, admin):
    key = (await admin.post("/api-keys", json={"name": "d", "role": "viewer"})).json()["key"]
    async with client_for(app, key, str(uuid.uuid4())) as client:
        assert (await client.get("/deployments")).status_code == 403
    async with client_for(app, key, "not-a-uuid") as client:
        response = await client.get("/deployments")
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "X-Tenant-Id"]


async def test_only_platform_admins_create_tenants(admin, role_client):
    tenant_admin = await role_client("admin")
    assert (await tenant_admin.post("/tenants", json={"name": "x"})).status_code == 403
    assert (await admin.post("/tenants", json={"name": "x"})).status_code == 201
    assert (await admin.post("/tenants", json={"name": "x"})).status_code == 409
    assert (await admin.post("/tenants", json={"name": "Bad Name"})).status_code == 422
    assert len((await tenant_admin.get("/tenants")).json()["resources"]) == 1
    assert len((await admin.get("/tenants")).json()["resources"]) == 2


async def test_bootstrap_is_idempotent(settings):
    from lgcp_api.app import create_app

    for _ in range(2):
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            pass
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tenants") == 1
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == 1
    finally:
        await conn.close()


async def test_audit_log_records_changes_without_bodies(admin, deployment):
    entries = (await admin.get("/audit-log")).json()["resources"]
    assert ("create", "deployment", deployment["id"]) in {
        (e["action"], e["object_type"], e["object_id"]) for e in entries
    }


async def test_platform_key_with_an_unknown_tenant_is_404(app):
    async with client_for(app, ADMIN_KEY, str(uuid.uuid4())) as client:
        response = await client.get("/deployments")
        assert response.status_code == 404
        assert response.json() == {"detail": "tenant not found"}


async def test_tenant_get_and_key_errors(app, admin, role_client):
    tenant = (await admin.post("/tenants", json={"name": "team-c"})).json()
    got = await admin.get(f"/tenants/{tenant['id']}")
    assert got.status_code == 200 and got.json() == tenant
    tenant_admin = await role_client("admin")
    # A tenant's own admin cannot see other tenants.
    assert (await tenant_admin.get(f"/tenants/{tenant['id']}")).status_code == 404
    assert (await admin.get(f"/tenants/{uuid.uuid4()}")).status_code == 404
    assert (await admin.delete(f"/api-keys/{uuid.uuid4()}")).status_code == 404
    response = await admin.post("/api-keys", json={"name": "x", "role": "superuser"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "role"]
    # Keys of another tenant cannot be revoked from here.
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other:
        foreign = (await other.post("/api-keys", json={"name": "c", "role": "viewer"})).json()
    assert (await tenant_admin.delete(f"/api-keys/{foreign['id']}")).status_code == 404
