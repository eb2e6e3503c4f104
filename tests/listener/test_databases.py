"""Shared-mode provisioning against a real PostgreSQL and Redis."""

import asyncio
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from lgcp_listener.databases import SharedDatabases, identifier, redis_uri
from lgcp_listener.redis_numbers import NoRedisDatabaseLeft


@pytest.fixture
async def shared(postgres_dsn, redis_url):
    dbs = SharedDatabases(postgres_dsn, "127.0.0.1", urlsplit(postgres_dsn).port, redis_url, 8)
    yield dbs
    for deployment_id in await dbs.provisioned():
        await dbs.drop(deployment_id)
    await dbs.close()


async def test_agent_gets_own_database_and_role_it_can_log_in_with(shared):
    await shared.ensure("dep-1", "pw-one")
    conn = await asyncpg.connect(shared.database_uri("dep-1", "pw-one"))
    try:
        assert await conn.fetchval("SELECT current_database()") == identifier("dep-1")
        await conn.execute("CREATE TABLE t (x int)")  # it owns its database
    finally:
        await conn.close()


async def test_ensure_is_idempotent_and_takes_the_new_password(shared):
    await shared.ensure("dep-1", "first")
    await shared.ensure("dep-1", "first")
    await shared.ensure("dep-1", "second")  # e.g. the Secret was lost: the stored password wins
    conn = await asyncpg.connect(shared.database_uri("dep-1", "second"))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(shared.database_uri("dep-1", "first"))


async def test_agents_cannot_reach_each_others_database(shared):
    await shared.ensure("dep-a", "pa")
    await shared.ensure("dep-b", "pb")
    other = shared.database_uri("dep-a", "pa").rsplit("/", 1)[0] + "/" + identifier("dep-b")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(other)


async def test_redis_numbers_are_stable_and_never_shared_even_concurrently(shared):
    numbers = await asyncio.gather(*(shared.redis_number(f"dep-{i}") for i in range(7)))
    assert sorted(numbers) == list(range(1, 8))
    assert await shared.redis_number("dep-3") == numbers[3]
    with pytest.raises(NoRedisDatabaseLeft):
        await shared.redis_number("dep-8")


async def test_drop_removes_database_role_and_frees_and_empties_redis_number(shared, redis_url):
    await shared.ensure("dep-1", "pw")
    number = await shared.redis_number("dep-1")
    client = aioredis.Redis.from_url(redis_uri(redis_url, number))
    await client.set("k", "v")
    await shared.drop("dep-1")
    assert await client.dbsize() == 0
    await client.aclose()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(shared.database_uri("dep-1", "pw"))
    assert await shared.redis_number("dep-2") == number
    await shared.drop("dep-1")  # dropping twice is fine


def test_identifier_is_safe_and_bounded():
    assert identifier("3F2a-b9") == "lgcp_3f2ab9"
    assert len(identifier("x" * 200)) <= 63
