"""Redis stream notifications to listeners, and writes that survive Redis being down."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from api_support import ADMIN_KEY, client_for, deployment_body
from harness.redis import start_redis
from lgcp_api.app import create_app
from lgcp_api.core.notifications import BACKOFF_SECONDS
from pydantic import SecretStr


async def entries(redis_url: str, listener_id: str) -> list[dict]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [fields for _, fields in await client.xrange(f"lgcp:listener:{listener_id}:changes")]
    finally:
        await client.aclose()


async def test_each_change_notifies_the_listener_stream(admin, listener, redis_url):
    created = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
    url = f"/deployments/{created['id']}"
    await admin.patch(url, json={"source_revision_config": {"image_uri": "r.io/a:2"}})
    await admin.patch(url, json={"source_config": {"custom_url": "https://x.example.com"}})
    first = (await admin.get(f"{url}/revisions")).json()["resources"][-1]["id"]
    await admin.post(f"{url}/revisions/{first}/redeploy")
    await admin.delete(url)
    assert await entries(redis_url, listener["id"]) == [
        {"deployment_id": created["id"], "change": change}
        for change in ("created", "revision", "updated", "revision", "deleted")
    ]


async def test_failed_writes_notify_nothing(admin, listener, redis_url):
    await admin.post("/deployments", json=deployment_body(listener["id"], "Bad Name"))
    assert await entries(redis_url, listener["id"]) == []


async def test_stream_length_is_bounded(app, admin, listener, redis_url):
    from lgcp_api.core.notifications import STREAM_MAXLEN

    notifier = app.state.notifier
    deployment = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
    sent = 0
    while sent < STREAM_MAXLEN * 2:
        sent += await notifier.notify(listener["id"], deployment["id"], "updated")
    length = len(await entries(redis_url, listener["id"]))
    # MAXLEN ~ trims whole macro nodes: the bound is approximate but holds.
    assert STREAM_MAXLEN <= length < STREAM_MAXLEN * 1.2


async def test_writes_succeed_while_redis_is_down_and_readyz_says_so(settings):
    redis = start_redis()
    try:
        application = create_app(settings.model_copy(update={"redis_url": SecretStr(redis.url())}))
        async with (
            application.router.lifespan_context(application),
            client_for(application, ADMIN_KEY) as admin,
            client_for(application, None) as bare,
        ):
            bare.base_url = "http://api"
            assert (await bare.get("/readyz")).json() == {"postgres": "ok", "redis": "ok"}
            listener = (await admin.post("/listeners", json={"compute_id": "c1"})).json()
            redis.stop()
            response = await admin.post("/deployments", json=deployment_body(listener["id"], "while-down"))
            assert response.status_code == 201
            assert (await admin.get(f"/deployments/{response.json()['id']}")).status_code == 200
            ready = await bare.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"postgres": "ok", "redis": "unavailable"}
            redis = start_redis(port=redis.port, password=redis.password)
            # The notifier skips Redis for a moment after a failure, then tries again.
            await asyncio.sleep(BACKOFF_SECONDS)
            response = await admin.post("/deployments", json=deployment_body(listener["id"], "after"))
            assert response.status_code == 201
            assert await entries(redis.url(), listener["id"]) == [
                {"deployment_id": response.json()["id"], "change": "created"}
            ]
    finally:
        redis.stop()
