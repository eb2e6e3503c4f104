"""Helpers of the API suite, importable by its test modules (a uniquely named module: every
suite has a `conftest`, so `from conftest import ...` would be ambiguous in a full run)."""

from __future__ import annotations

import httpx

ADMIN_KEY = "lgcp_test_admin_" + "a" * 40
SECRET_KEY = "s" * 48


def client_for(app, key: str | None, tenant_id: str | None = None) -> httpx.AsyncClient:
    """A client of the v2 API authenticated with `key` (and a tenant header when given)."""
    headers = {}
    if key is not None:
        headers["X-Api-Key"] = key
    if tenant_id is not None:
        headers["X-Tenant-Id"] = tenant_id
    prefix = app.state.settings.api_prefix
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://api{prefix}/v2", headers=headers)


def deployment_body(listener_id: str, name: str = "my-agent", **overrides) -> dict:
    body = {
        "name": name,
        "source": "external_docker",
        "source_config": {
            "listener_id": listener_id,
            "listener_config": {"k8s_namespace": "agents"},
            "resource_spec": {"min_scale": 1, "max_scale": 2, "cpu": 0.5, "memory_mb": 512},
        },
        "source_revision_config": {"image_uri": "registry.example.com/team/agent:1.0.0"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-very-secret-value"}],
    }
    body.update(overrides)
    return body
