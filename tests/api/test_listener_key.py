"""The listener-facing API answers decrypted secrets, so only listener keys reach it; the API
bootstraps the chart's listener key from LGCP_LISTENER_API_KEY."""

from __future__ import annotations

import asyncpg
import pytest
from api_support import ADMIN_KEY, client_for
from lgcp_api.app import create_app
from lgcp_api.tenants.bootstrap import BootstrapError
from pydantic import SecretStr

LISTENER_KEY = "lgcp_test_listener_" + "b" * 40


@pytest.fixture
async def app_with_listener_key(settings):
    application = create_app(settings.model_copy(update={"listener_api_key": SecretStr(LISTENER_KEY)}))
    async with application.router.lifespan_context(application):
        yield application


async def test_admin_keys_get_a_clear_403_on_every_listener_endpoint(admin, listener, deployment):
    revision = deployment["latest_revision_id"]
    calls = [
        ("POST", "/listener-api/register", {"compute_id": "c1", "k8s_namespaces": ["agents"]}),
        ("GET", f"/listener-api/listeners/{listener['id']}/desired-state", None),
        ("POST", f"/listener-api/revisions/{revision}/status", {"status": "DEPLOYING"}),
        ("POST", f"/listener-api/deployments/{deployment['id']}/status", {"status": "READY"}),
        ("POST", f"/listener-api/deployments/{deployment['id']}/deleted", None),
    ]
    for method, path, body in calls:
        response = await admin.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert "only keys with the listener role" in response.json()["detail"]
        assert "sk-very-secret-value" not in response.text
    # Nothing changed: no listener registered, the revision still queued, the status untouched.
    assert [item["compute_id"] for item in (await admin.get("/listeners")).json()["resources"]] == ["cluster-1"]
    current = (await admin.get(f"/deployments/{deployment['id']}")).json()
    assert current["status"] == deployment["status"]
    revisions = (await admin.get(f"/deployments/{deployment['id']}/revisions")).json()["resources"]
    assert revisions[0]["status"] == "QUEUED"


async def test_the_bootstrap_listener_key_is_a_listener_of_the_default_tenant(app_with_listener_key, settings):
    async with client_for(app_with_listener_key, LISTENER_KEY) as listener:
        registered = await listener.post(
            "/listener-api/register", json={"compute_id": "chart", "k8s_namespaces": ["agents"]}
        )
        assert registered.status_code == 200, registered.text
        # A listener key reads nothing else.
        assert (await listener.get("/deployments")).status_code == 403
        assert (await listener.get("/api-keys")).status_code == 403
    async with client_for(app_with_listener_key, ADMIN_KEY) as admin:
        default_tenant = registered.json()["tenant_id"]
        keys = (await admin.get("/api-keys")).json()["resources"]
        [key] = [k for k in keys if k["name"] == "bootstrap listener"]
        assert key["role"] == "listener"
        assert LISTENER_KEY not in str(keys)
        # Bound to the default tenant: it cannot act in another one.
        other = (await admin.post("/tenants", json={"name": "team-b"})).json()
    assert registered.json()["tenant_id"] == default_tenant
    async with client_for(app_with_listener_key, LISTENER_KEY, other["id"]) as elsewhere:
        response = await elsewhere.post("/listener-api/register", json={"compute_id": "x", "k8s_namespaces": []})
        assert response.status_code == 403


async def test_listener_key_bootstrap_is_idempotent(settings):
    with_key = settings.model_copy(update={"listener_api_key": SecretStr(LISTENER_KEY)})
    for _ in range(2):
        application = create_app(with_key)
        async with application.router.lifespan_context(application):
            pass
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        rows = await conn.fetch("SELECT role, tenant_id FROM api_keys WHERE name = 'bootstrap listener'")
    finally:
        await conn.close()
    assert len(rows) == 1 and rows[0]["role"] == "listener" and rows[0]["tenant_id"] is not None


async def test_a_listener_key_that_is_already_another_role_stops_the_start(app, admin, settings):
    viewer_key = (await admin.post("/api-keys", json={"name": "v", "role": "viewer"})).json()["key"]
    application = create_app(settings.model_copy(update={"listener_api_key": SecretStr(viewer_key)}))
    with pytest.raises(BootstrapError, match="LGCP_LISTENER_API_KEY is already a key with the role 'viewer'") as info:
        async with application.router.lifespan_context(application):
            pass
    assert viewer_key not in str(info.value)
    async with client_for(app, viewer_key) as viewer:
        assert (
            await viewer.post("/listener-api/register", json={"compute_id": "c", "k8s_namespaces": []})
        ).status_code == 403
