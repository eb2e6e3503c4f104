"""Shared-mode provisioning against a real PostgreSQL and Redis."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from lgcp_listener.databases.shared.identifiers import identifier, redis_uri
from lgcp_listener.databases.shared.redis_numbers import NoRedisDatabaseLeft
from lgcp_listener.databases.shared.server import SharedDatabases


@pytest.fixture
async def shared(postgres_dsn: str, redis_url: str) -> AsyncIterator[SharedDatabases]:
    dbs = SharedDatabases(postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), redis_url, 8)
    yield dbs
    for deployment_id in await dbs.provisioned():
        await dbs.drop(deployment_id)
    await dbs.close()


async def test_agent_gets_own_database_and_role_it_can_log_in_with(shared: SharedDatabases) -> None:
    await shared.ensure("dep-1", "pw-one")
    conn = await asyncpg.connect(shared.database_uri("dep-1", "pw-one"))
    try:
        assert await conn.fetchval("SELECT current_database()") == identifier("dep-1")
        await conn.execute("CREATE TABLE t (x int)")  # it owns its database
    finally:
        await conn.close()


async def test_ensure_is_idempotent_and_takes_the_new_password(shared: SharedDatabases) -> None:
    await shared.ensure("dep-1", "first")
    await shared.ensure("dep-1", "first")
    await shared.ensure("dep-1", "second")  # e.g. the Secret was lost: the stored password wins
    conn = await asyncpg.connect(shared.database_uri("dep-1", "second"))
    await conn.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(shared.database_uri("dep-1", "first"))


async def test_agents_cannot_reach_each_others_database(shared: SharedDatabases) -> None:
    await shared.ensure("dep-a", "pa")
    await shared.ensure("dep-b", "pb")
    other = shared.database_uri("dep-a", "pa").rsplit("/", 1)[0] + "/" + identifier("dep-b")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(other)


async def test_redis_numbers_are_stable_and_never_shared_even_concurrently(shared: SharedDatabases) -> None:
    numbers = await asyncio.gather(*(shared.redis_number(f"dep-{i}") for i in range(7)))
    assert sorted(numbers) == list(range(1, 8))
    assert await shared.redis_number("dep-3") == numbers[3]
    with pytest.raises(NoRedisDatabaseLeft):
        await shared.redis_number("dep-8")


async def test_drop_removes_database_role_and_frees_and_empties_redis_number(
    shared: SharedDatabases, redis_url: str
) -> None:
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


def test_identifier_is_safe_and_bounded() -> None:
    assert identifier("3F2a-b9") == "lgcp_3f2ab9"
    assert len(identifier("x" * 200)) <= 63


# --- Redis ACL users: an agent reaches its own database number and nothing else ---------------

from lgcp_listener.databases.shared.identifiers import redis_user  # noqa: E402
from lgcp_listener.databases.shared.mode import stored_redis_password  # noqa: E402
from lgcp_listener.databases.shared.redis_users import RedisAclError  # noqa: E402
from listener_support import url_of_a_user_who_cannot_manage_users  # noqa: E402
from redis.exceptions import AuthenticationError, NoPermissionError  # noqa: E402


async def _agent(shared: SharedDatabases, deployment_id: str, password: str, db: int | None = None) -> aioredis.Redis:
    """A client logged in as the agent's user, on its number (or on `db`, without SELECT)."""
    number = await shared.redis_number(deployment_id)
    await shared.ensure_redis_user(deployment_id, number, password)
    uri = shared.agent_redis_uri(deployment_id, number, password)
    if db is not None:
        uri = uri.rsplit("/", 1)[0] + f"/{db}"
    return aioredis.Redis.from_url(uri)


async def test_an_agents_redis_user_works_in_its_own_database(shared: SharedDatabases) -> None:
    client = await _agent(shared, "dep-1", "pw-1")
    try:
        assert await client.acl_whoami() in (redis_user("dep-1"), redis_user("dep-1").encode())
        # What a LangGraph server does: keys with expiry, lists, streams with groups, Lua, Pub/Sub.
        await client.set("run:1", "x", ex=60)
        assert await client.get("run:1") == b"x"
        await client.rpush("queue", "a")
        assert await client.blpop(["queue"], timeout=1) == (b"queue", b"a")
        await client.xadd("stream", {"k": "v"})
        await client.xgroup_create("stream", "workers", id="0")
        assert await client.eval("return redis.call('get', KEYS[1])", 1, "run:1") == b"x"
        pubsub = client.pubsub()
        await pubsub.subscribe("run:1:events")
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        assert await client.publish("run:1:events", "hello") == 1
        assert (await pubsub.get_message(timeout=1))["data"] == b"hello"
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py: unannotated
    finally:
        await client.aclose()


async def test_an_agents_redis_user_cannot_reach_other_databases_or_the_server(
    shared: SharedDatabases, redis_url: str
) -> None:
    own = await _agent(shared, "dep-a", "pw-a")
    other = await _agent(shared, "dep-b", "pw-b")
    number_b = await shared.redis_number("dep-b")
    try:
        await other.set("secret", "of b")
        command: tuple[str | int, ...]
        for command in (
            ("SELECT", number_b),
            ("SELECT", 0),
            ("FLUSHALL",),
            ("FLUSHDB",),
            ("SWAPDB", 0, number_b),
            ("MOVE", "k", number_b),
            ("COPY", "k", "k2", "DB", number_b),
            ("KEYS", "*"),
            ("INFO",),
            ("CONFIG", "GET", "requirepass"),
            ("ACL", "SETUSER", "someone", "on"),
            ("CLIENT", "LIST"),
            ("SCRIPT", "FLUSH"),
            ("FUNCTION", "FLUSH"),
            ("MIGRATE", "127.0.0.1", 1, "k", 0, 100),
        ):
            with pytest.raises(NoPermissionError):
                await own.execute_command(*command)  # type: ignore[no-untyped-call]  # redis-py: unannotated
        # Not even inside a script.
        with pytest.raises(Exception, match="can't run this command"):
            await own.eval(f"return redis.call('select', '{number_b}')", 0)
        assert await other.get("secret") == b"of b"
    finally:
        await own.aclose()
        await other.aclose()
    # Every connection starts in database 0, where the control plane keeps its streams: the
    # agent's user cannot touch those keys there (nor anywhere).
    admin = aioredis.Redis.from_url(redis_url)
    await admin.xadd("lgcp:listener:l1:changes", {"deployment_id": "d"})
    on_zero = await _agent(shared, "dep-a", "pw-a", db=0)
    try:
        for command in (
            ("XADD", "lgcp:listener:l1:changes", "*", "k", "v"),
            ("DEL", "lgcp:listener:l1:changes"),
            ("XRANGE", "lgcp:listener:l1:changes", "-", "+"),
            ("SET", "lgcp:x", "1"),
        ):
            with pytest.raises(NoPermissionError):
                await on_zero.execute_command(*command)  # type: ignore[no-untyped-call]  # redis-py: unannotated
        await on_zero.set("lgcpx", "its own")  # only the `lgcp:` prefix is the control plane's
    finally:
        await on_zero.aclose()
    assert await admin.xlen("lgcp:listener:l1:changes") == 1
    await admin.aclose()


async def test_the_redis_password_is_the_one_given_last_and_drop_removes_the_user(shared: SharedDatabases) -> None:
    number = await shared.redis_number("dep-1")
    await shared.ensure_redis_user("dep-1", number, "first")
    await shared.ensure_redis_user("dep-1", number, "first")  # again: harmless
    connected = aioredis.Redis.from_url(shared.agent_redis_uri("dep-1", number, "first"))
    assert await connected.ping()
    await shared.ensure_redis_user("dep-1", number, "second")  # e.g. the Secret was lost
    with pytest.raises(AuthenticationError):
        await aioredis.Redis.from_url(shared.agent_redis_uri("dep-1", number, "first")).ping()
    second = aioredis.Redis.from_url(shared.agent_redis_uri("dep-1", number, "second"))
    assert await second.ping()
    await second.aclose()
    await shared.drop("dep-1")
    with pytest.raises(AuthenticationError):
        await aioredis.Redis.from_url(shared.agent_redis_uri("dep-1", number, "second")).ping()
    # A connection still open as the user is cut, not left with its rights.
    with pytest.raises((ConnectionError, AuthenticationError, OSError, aioredis.ConnectionError)):
        await connected.ping()
    await connected.aclose()


async def test_a_restarted_redis_gets_the_users_back_without_their_passwords(postgres_dsn: str) -> None:
    from harness.redis import start_redis

    server = start_redis()
    dbs = SharedDatabases(
        postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), server.url(), 8, acl_check_seconds=0.2
    )
    try:
        number = await dbs.redis_number("dep-1")
        await dbs.ensure_redis_user("dep-1", number, "pw")
        uri = dbs.agent_redis_uri("dep-1", number, "pw")
        # The listener's table holds a hash, never the password.
        conn = await asyncpg.connect(postgres_dsn)
        stored = await conn.fetchval("SELECT acl_password_sha256 FROM lgcp_listener_redis_databases")
        await conn.close()
        assert stored and "pw" not in stored
        server.stop()
        server = start_redis(port=server.port, password=server.password)  # users gone
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # the keeper notices within a round
            client = aioredis.Redis.from_url(uri)
            try:
                if await client.ping():
                    break
            except AuthenticationError:
                assert asyncio.get_running_loop().time() < deadline, "the user was not re-created"
                await asyncio.sleep(0.2)
            finally:
                await client.aclose()
        with pytest.raises(NoPermissionError):
            client = aioredis.Redis.from_url(uri)
            try:
                await client.flushall()
            finally:
                await client.aclose()
        assert await dbs.keep_acl_users() == 0  # nothing left to do
    finally:
        await dbs.drop("dep-1")
        await dbs.close()
        server.stop()


async def test_a_redis_that_refuses_acl_setuser_is_a_clear_error_and_acl_off_shares_the_url(
    shared: SharedDatabases, redis_url: str, postgres_dsn: str
) -> None:
    limited = await url_of_a_user_who_cannot_manage_users(redis_url)
    dbs = SharedDatabases(postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), limited, 8)
    try:
        number = await dbs.redis_number("dep-x")
        with pytest.raises(RedisAclError, match="LGCP_LISTENER_AGENT_REDIS_ACL=false"):
            await dbs.ensure_redis_user("dep-x", number, "pw")
        off = SharedDatabases(
            postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), limited, 8, redis_acl=False
        )
        await off.ensure_redis_user("dep-x", number, "pw")  # nothing to create
        assert off.agent_redis_uri("dep-x", number, "pw") == redis_uri(limited, number)
        await off.close()
    finally:
        await dbs.drop("dep-x")
        await dbs.close()


def test_the_stored_redis_password_is_read_only_from_the_agents_own_user() -> None:
    import base64

    def secret(uri: str) -> dict[str, Any]:
        return {"data": {"REDIS_URI": base64.b64encode(uri.encode()).decode()}}

    user = redis_user("dep-1")
    assert stored_redis_password(secret(f"redis://{user}:p%40ss@redis:6379/3"), user) == "p@ss"
    # An env Secret from before agents had users holds the shared credentials: not the agent's.
    assert stored_redis_password(secret("redis://:shared@redis:6379/3"), user) is None
    assert stored_redis_password(secret("redis://lgcp_other:p@redis:6379/3"), user) is None
    assert stored_redis_password(None, user) is None


async def test_a_new_agents_database_is_a_spare_renamed_and_spares_are_refilled(
    postgres_dsn: str, redis_url: str
) -> None:
    dbs = SharedDatabases(
        postgres_dsn, "127.0.0.1", cast(int, urlsplit(postgres_dsn).port), redis_url, 8, spare_databases=2
    )
    admin = await asyncpg.connect(postgres_dsn)
    try:
        for name in await dbs.spares.names():  # other tests' listeners share this server
            await admin.execute(f'DROP DATABASE "{name}"')
        await cast(asyncio.Task[None], dbs.spares.refill())
        spares = await dbs.spares.names()
        assert len(spares) == 2
        # Spares are nobody's: PUBLIC may not connect to them.
        assert not await admin.fetchval("SELECT has_database_privilege('public', $1, 'CONNECT')", spares[0])
        await dbs.ensure("dep-spare", "pw")
        name = identifier("dep-spare")
        assert spares[0] not in await dbs.spares.names()  # the oldest spare became the agent's
        assert await admin.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name) == name
        assert not await admin.fetchval("SELECT has_database_privilege('public', $1, 'CONNECT')", name)
        agent = await asyncpg.connect(dbs.database_uri("dep-spare", "pw"))
        try:
            await agent.execute("CREATE TABLE t (x int)")  # it owns its database
        finally:
            await agent.close()
        await cast(asyncio.Task[None], dbs.spares.refill())
        assert len(await dbs.spares.names()) == 2
    finally:
        await dbs.drop("dep-spare")
        for name in await dbs.spares.names():
            await admin.execute(f'DROP DATABASE "{name}"')
        await dbs.close()
        await admin.close()


async def test_a_crash_between_rename_and_owner_is_repaired(shared: SharedDatabases, postgres_dsn: str) -> None:
    """A spare renamed to the agent's name but never handed over (the listener died between the
    two) is given to the agent's role on the next pass."""
    name = identifier("dep-crash")
    admin = await asyncpg.connect(postgres_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # what the rename left: the admin's
        await shared.ensure("dep-crash", "pw")
        assert await admin.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name) == name
    finally:
        await admin.close()
