"""/ok, /readyz, /metrics, JSON logs with request ids, and secrets kept out of both."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from api_support import deployment_body
from lgcp_api.observability.json_logs import JsonFormatter

SECRET = "sk-very-secret-value"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
async def bare(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def test_ok_and_readyz(bare):
    assert (await bare.get("/ok")).json() == {"ok": True}
    ready = await bare.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_without_postgres(app, bare):
    await app.state.pool.close()
    response = await bare.get("/readyz")
    assert response.status_code == 503
    assert response.json()["postgres"] == "unavailable"


async def test_metrics_count_responses_by_route_template_and_status(admin, bare, deployment):
    await admin.get(f"/deployments/{deployment['id']}")
    text = (await bare.get("/metrics")).text
    assert (
        'lgcp_api_request_duration_seconds_count{method="GET",route="/api-host/v2/deployments/{deployment_id}"}' in text
    )
    assert 'lgcp_api_responses_total{method="POST",route="/api-host/v2/deployments",status="201"}' in text
    await bare.get("/no/such/path")
    text = (await bare.get("/metrics")).text
    assert 'lgcp_api_responses_total{method="GET",route="unmatched",status="404"}' in text


async def test_access_log_is_json_with_the_request_id(admin, log_lines):
    response = await admin.get("/deployments", headers={"X-Request-Id": "trace-123"})
    assert response.headers["X-Request-Id"] == "trace-123"
    access = [line for line in log_lines() if line["logger"] == "lgcp_api.access"]
    assert access[-1]["request_id"] == "trace-123"
    assert access[-1]["path"] == "/api-host/v2/deployments"
    assert access[-1]["status"] == 200
    generated = await admin.get("/deployments")
    assert len(generated.headers["X-Request-Id"]) == 32


async def test_secret_values_never_appear_in_answers_or_logs(admin, role_client, listener, log_lines):
    answers = []
    created = await admin.post("/deployments", json=deployment_body(listener["id"]))
    answers.append(created)
    url = f"/deployments/{created.json()['id']}"
    answers.append(await admin.patch(url, json={"secrets": [{"name": "TOKEN", "value": SECRET + "-2"}]}))
    answers.append(
        await admin.post(
            f"{url}/revisions",
            json={
                "source_revision_config": {"image_uri": "r.io/a:3"},
                "secrets": [{"name": "TOKEN", "value": SECRET + "-3"}],
            },
        )
    )
    answers.append(await admin.post("/deployments", json=deployment_body(listener["id"], "Bad Name")))
    answers.append(await admin.get(url))
    answers.append(await admin.get("/deployments"))
    answers.append(await admin.get(f"{url}/revisions"))
    answers.append(await admin.get("/audit-log"))
    for answer in answers:
        assert SECRET not in answer.text, answer.request.url
    listener_client = await role_client("listener")
    state = await listener_client.get(f"/listener-api/listeners/{listener['id']}/desired-state")
    assert SECRET + "-3" in state.text  # the only place values are given out
    logs = json.dumps(log_lines())
    assert logs.count("lgcp_api.access") >= len(answers)
    assert SECRET not in logs


async def test_secrets_are_encrypted_at_rest(admin, listener, settings):
    import asyncpg

    await admin.post("/deployments", json=deployment_body(listener["id"]))
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        dump = await conn.fetchval(
            "SELECT string_agg(t::text, '') FROM (SELECT * FROM revisions) t"
        ) + await conn.fetchval("SELECT string_agg(t::text, '') FROM (SELECT * FROM deployments) t")
    finally:
        await conn.close()
    assert SECRET not in dump
    assert SECRET.encode().hex() not in dump


async def test_openapi_is_served_with_examples(bare):
    spec = (await bare.get("/api-host/openapi.json")).json()
    assert "/api-host/v2/deployments" in spec["paths"]
    create = spec["components"]["schemas"]["DeploymentCreate"]
    assert create["examples"][0]["source"] == "external_docker"
    assert (await bare.get("/api-host/docs")).status_code == 200
