"""The long-poll wake-up endpoint (GET /v2/listener-api/listeners/{id}/changes) against the real
Redis stream the API writes and the real Postgres."""

from __future__ import annotations

import asyncio
import time

import pytest
from api_support import ADMIN_KEY, client_for, deployment_body
from harness.api_app import running_app
from harness.redis import start_redis
from lgcp_api.core.notifications import STREAM_MAXLEN
from pydantic import SecretStr


def changes_url(listener: dict) -> str:
    return f"/listener-api/listeners/{listener['id']}/changes"


async def cursor_now(client, listener: dict) -> str:
    response = await client.get(changes_url(listener))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changes"] == [] and body["resync"] is True
    return body["cursor"]


async def test_a_poll_answers_the_changes_after_its_cursor_then_nothing(admin, role_client, listener):
    data_plane = await role_client("listener")
    cursor = await cursor_now(data_plane, listener)
    created = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
    await admin.patch(f"/deployments/{created['id']}", json={"source_revision_config": {"image_uri": "r.io/a:2"}})

    answer = (await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 5})).json()
    assert answer["resync"] is False
    assert answer["changes"] == [
        {"deployment_id": created["id"], "change": "created"},
        {"deployment_id": created["id"], "change": "revision"},
    ]
    assert answer["cursor"] != cursor
    # Nothing new after the returned cursor: an empty answer that keeps it.
    again = (await data_plane.get(changes_url(listener), params={"after": answer["cursor"], "wait": 0})).json()
    assert again == {"cursor": answer["cursor"], "changes": [], "resync": False}
    # A cursor without changes yet is the start of a stream that does not exist yet.
    other = (await admin.post("/listeners", json={"compute_id": "quiet"})).json()
    assert await cursor_now(data_plane, other) == "0-0"


async def test_a_waiting_poll_wakes_when_a_change_is_written(admin, role_client, listener):
    data_plane = await role_client("listener")
    cursor = await cursor_now(data_plane, listener)
    started = time.monotonic()
    poll = asyncio.create_task(data_plane.get(changes_url(listener), params={"after": cursor, "wait": 20}))
    await asyncio.sleep(1.0)
    assert not poll.done(), "the poll answered before any change was written"
    created = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
    answer = (await asyncio.wait_for(poll, 10)).json()
    assert answer["changes"] == [{"deployment_id": created["id"], "change": "created"}]
    assert time.monotonic() - started < 15  # woken by the write, not by the end of the wait


async def test_a_poll_without_changes_ends_after_its_wait(role_client, listener):
    data_plane = await role_client("listener")
    cursor = await cursor_now(data_plane, listener)
    started = time.monotonic()
    answer = (await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 1.5})).json()
    elapsed = time.monotonic() - started
    assert answer == {"cursor": cursor, "changes": [], "resync": False}
    assert 1.4 <= elapsed < 10


async def test_a_wait_above_the_cap_is_accepted(admin, role_client, listener):
    data_plane = await role_client("listener")
    cursor = await cursor_now(data_plane, listener)
    created = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
    response = await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 3600})
    assert response.status_code == 200, response.text
    assert response.json()["changes"] == [{"deployment_id": created["id"], "change": "created"}]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"after": "latest"}, "after"), ({"after": "1-2-3"}, "after"), ({"wait": -1}, "wait"), ({"wait": "soon"}, "wait")],
)
async def test_bad_parameters_are_refused_naming_them(role_client, listener, params, field):
    data_plane = await role_client("listener")
    response = await data_plane.get(changes_url(listener), params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_another_tenants_listener_is_not_found(app, admin, listener):
    tenant = (await admin.post("/tenants", json={"name": "team-b"})).json()
    async with client_for(app, ADMIN_KEY, tenant["id"]) as other_admin:
        response = await other_admin.post("/api-keys", json={"name": "b-listener", "role": "listener"})
        key = response.json()["key"]
    async with client_for(app, key) as other_data_plane:
        response = await other_data_plane.get(changes_url(listener))
        assert response.status_code == 404, response.text


async def test_entries_trimmed_past_the_cursor_ask_for_a_resync(app, role_client, listener, deployment):
    data_plane = await role_client("listener")
    cursor = await cursor_now(data_plane, listener)
    for _ in range(STREAM_MAXLEN * 2):
        assert await app.state.notifier.notify(listener["id"], deployment["id"], "updated")
    answer = (await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 0})).json()
    assert answer["resync"] is True and answer["changes"] == []
    # The new cursor is the newest entry: from there the poll goes on normally.
    again = (await data_plane.get(changes_url(listener), params={"after": answer["cursor"], "wait": 0})).json()
    assert again == {"cursor": answer["cursor"], "changes": [], "resync": False}


async def test_waiting_polls_hold_no_database_connection(settings):
    """Five listeners waiting at once on a pool of one connection: other requests still answer."""
    one_connection = settings.model_copy(update={"db_pool_min_size": 1, "db_pool_max_size": 1})
    async with running_app(one_connection) as application, client_for(application, ADMIN_KEY) as admin:
        listener = (await admin.post("/listeners", json={"compute_id": "c1"})).json()
        key = (await admin.post("/api-keys", json={"name": "l", "role": "listener"})).json()["key"]
        async with client_for(application, key) as data_plane:
            cursor = await cursor_now(data_plane, listener)
            polls = [
                asyncio.create_task(data_plane.get(changes_url(listener), params={"after": cursor, "wait": 8}))
                for _ in range(5)
            ]
            await asyncio.sleep(1.0)
            started = time.monotonic()
            response = await asyncio.wait_for(admin.get("/deployments"), 5)
            assert response.status_code == 200
            assert time.monotonic() - started < 5
            assert not any(poll.done() for poll in polls)
            created = (await admin.post("/deployments", json=deployment_body(listener["id"]))).json()
            for answer in await asyncio.gather(*polls):
                assert answer.json()["changes"] == [{"deployment_id": created["id"], "change": "created"}]


async def test_redis_down_is_503_and_a_lost_stream_asks_for_a_resync(settings):
    redis = start_redis()
    try:
        changed = settings.model_copy(update={"redis_url": SecretStr(redis.url()), "redis_timeout_seconds": 1})
        async with running_app(changed) as application, client_for(application, ADMIN_KEY) as admin:
            listener = (await admin.post("/listeners", json={"compute_id": "c1"})).json()
            key = (await admin.post("/api-keys", json={"name": "l", "role": "listener"})).json()["key"]
            async with client_for(application, key) as data_plane:
                await admin.post("/deployments", json=deployment_body(listener["id"], "before"))
                cursor = await cursor_now(data_plane, listener)
                assert cursor != "0-0"
                redis.stop()
                response = await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 1})
                assert response.status_code == 503
                assert response.headers["Retry-After"].isdigit()
                assert "Redis is unreachable" in response.json()["detail"]
                assert redis.password not in response.text
                # Back without its data (no persistence): the entries after the cursor are gone.
                redis = start_redis(port=redis.port, password=redis.password)
                answer = (await data_plane.get(changes_url(listener), params={"after": cursor, "wait": 0})).json()
                assert answer == {"cursor": "0-0", "changes": [], "resync": True}
    finally:
        redis.stop()


async def test_without_redis_configured_a_poll_is_503(settings):
    async with running_app(settings.model_copy(update={"redis_url": None})) as application:
        async with client_for(application, ADMIN_KEY) as admin:
            listener = (await admin.post("/listeners", json={"compute_id": "c1"})).json()
            key = (await admin.post("/api-keys", json={"name": "l", "role": "listener"})).json()["key"]
        async with client_for(application, key) as data_plane:
            response = await data_plane.get(changes_url(listener))
            assert response.status_code == 503
            assert "LGCP_REDIS_URL" in response.json()["detail"]
