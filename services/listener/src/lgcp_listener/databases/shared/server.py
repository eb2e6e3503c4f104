"""Each agent's own database and login role on the shared data-plane Postgres, its Redis number
and its Redis ACL user on the shared Redis.

Idempotent at every step, so a crash anywhere is repaired by running it again:
- the role and database are created only when missing (the database is a spare renamed when one
  is there: spares.py), and the role's password is always set to the one the caller passes
  (which the caller has already stored in the agent's Secret);
- Redis numbers live in a table of the admin database with a unique constraint, handed out
  under a transaction-scoped advisory lock, so two agents never share one;
- each agent also gets a Redis ACL user of its own (`lgcp_<id>`, the role's name), limited to
  its number (redis_users.py), whose password the caller has stored in the agent's Secret
  like the role's. Redis keeps ACL users in memory only, so the table keeps the password's
  SHA-256 (what Redis itself keeps) and `keep_acl_users` re-creates the users a restarted Redis
  has lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from .identifiers import identifier, postgres_uri, redis_uri, redis_user
from .redis_numbers import pick_free
from .redis_users import acl_rules, password_sha256, refused
from .spares import SpareDatabases

log = logging.getLogger(__name__)

_ALLOCATION_LOCK = 0x6C676370  # "lgcp": serialises Redis number allocation across replicas

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgcp_listener_redis_databases (
    deployment_id text PRIMARY KEY,
    db_number integer NOT NULL UNIQUE
);
ALTER TABLE lgcp_listener_redis_databases ADD COLUMN IF NOT EXISTS acl_password_sha256 text;
-- One id per server, made by the first listener that uses it: listeners sharing the server
-- report the same data store, so a deployment can move between them with its database.
CREATE TABLE IF NOT EXISTS lgcp_listener_data_store (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    id uuid NOT NULL
);
"""


class SharedDatabases:
    """Provisions agents on one shared Postgres (admin URL) and one shared Redis."""

    def __init__(
        self,
        admin_url: str,
        agent_host: str,
        agent_port: int,
        agent_redis_url: str,
        redis_databases: int,
        redis_acl: bool = True,
        acl_check_seconds: float = 10,
        spare_databases: int = 0,
    ) -> None:
        self.admin_url, self.agent_host, self.agent_port = admin_url, agent_host, agent_port
        self.agent_redis_url, self.redis_databases = agent_redis_url, redis_databases
        # False: agents get the credentials of agent_redis_url itself (a Redis without ACLs,
        # or one that refuses ACL SETUSER, like most managed ones).
        self.redis_acl, self.acl_check_seconds = redis_acl, acl_check_seconds
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._keeper: asyncio.Task[None] | None = None
        self.spares = SpareDatabases(self._conn_pool, spare_databases)

    async def _conn_pool(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(self.admin_url, min_size=0, max_size=4)
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ALLOCATION_LOCK)
                    await conn.execute(_SCHEMA)
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        """Stops keeping the ACL users and making spares, and closes the admin connection pool."""
        await self.spares.close()
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()

    async def server_id(self) -> uuid.UUID:
        """This server's id, shared by every listener that provisions agents on it."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO lgcp_listener_data_store (id) VALUES ($1) ON CONFLICT DO NOTHING", uuid.uuid4()
            )
            found: uuid.UUID = await conn.fetchval("SELECT id FROM lgcp_listener_data_store")
        return found

    def database_uri(self, deployment_id: str, password: str) -> str:
        """The agent's own `postgresql://` URI, as its pods reach the server."""
        return postgres_uri(deployment_id, password, self.agent_host, self.agent_port)

    def agent_redis_uri(self, deployment_id: str, number: int, password: str) -> str:
        """The agent's `redis://` URI: its own ACL user and `password`, its database number."""
        if not self.redis_acl:
            return redis_uri(self.agent_redis_url, number)
        return redis_uri(self.agent_redis_url, number, redis_user(deployment_id), password)

    async def ensure_redis_user(self, deployment_id: str, number: int, password: str) -> None:
        """Creates (or resets) the agent's ACL user with `password`, limited to `number`.

        The password's hash goes to the table first, so that `keep_acl_users` can re-create the
        user after a Redis restart. Needs `redis_acl`; otherwise there is no user to make."""
        if not self.redis_acl:
            return
        digest = password_sha256(password)
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE lgcp_listener_redis_databases SET acl_password_sha256 = $2 WHERE deployment_id = $1",
                deployment_id,
                digest,
            )
        await self._set_users([(redis_user(deployment_id), number, digest)])
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_acl_users_forever(), name="redis-acl-users")

    async def _set_users(self, users: list[tuple[str, int, str]]) -> None:
        client = aioredis.Redis.from_url(redis_uri(self.agent_redis_url, 0))
        try:
            for user, number, digest in users:
                await client.execute_command("ACL", "SETUSER", user, *acl_rules(number, digest))  # type: ignore[no-untyped-call]  # redis-py: unannotated
        except ResponseError as exc:
            raise refused(exc) from exc
        finally:
            await client.aclose()

    async def keep_acl_users(self) -> int:
        """Re-creates the ACL users the agents' Redis does not have (it restarted: Redis keeps
        them in memory only) from the stored hashes; returns how many."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT deployment_id, db_number, acl_password_sha256 "
                "FROM lgcp_listener_redis_databases WHERE acl_password_sha256 IS NOT NULL"
            )
        if not rows:
            return 0
        client = aioredis.Redis.from_url(redis_uri(self.agent_redis_url, 0))
        try:
            # redis-py leaves execute_command unannotated.
            users = await client.execute_command("ACL", "USERS")  # type: ignore[no-untyped-call]
            present = {u.decode() if isinstance(u, bytes) else u for u in users}
        finally:
            await client.aclose()
        missing = [
            (redis_user(r["deployment_id"]), r["db_number"], r["acl_password_sha256"])
            for r in rows
            if redis_user(r["deployment_id"]) not in present
        ]
        if missing:
            await self._set_users(missing)
            log.warning("re-created %d agents' Redis ACL users (the agents' Redis restarted?)", len(missing))
        return len(missing)

    async def _keep_acl_users_forever(self) -> None:
        while True:
            await asyncio.sleep(self.acl_check_seconds)
            try:
                await self.keep_acl_users()
            except Exception as exc:
                log.warning("could not check the agents' Redis ACL users: %s", type(exc).__name__)

    async def redis_number(self, deployment_id: str) -> int:
        """This deployment's Redis database number, allocating the lowest free one the first time."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ALLOCATION_LOCK)
            held: int | None = await conn.fetchval(
                "SELECT db_number FROM lgcp_listener_redis_databases WHERE deployment_id = $1", deployment_id
            )
            if held is not None:
                return held
            used = [row["db_number"] for row in await conn.fetch("SELECT db_number FROM lgcp_listener_redis_databases")]
            number = pick_free(used, self.redis_databases)
            await conn.execute(
                "INSERT INTO lgcp_listener_redis_databases (deployment_id, db_number) VALUES ($1, $2)",
                deployment_id,
                number,
            )
            return number

    async def ensure(self, deployment_id: str, password: str) -> None:
        """Creates the agent's role (or resets its password) and database, owned by the role."""
        name = identifier(deployment_id)
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
            # Identifiers are made of [a-z0-9_] only; the password goes in as a literal.
            literal = await conn.fetchval("SELECT quote_literal($1)", password)
            try:
                if exists:
                    await conn.execute(f'ALTER ROLE "{name}" WITH LOGIN PASSWORD {literal}')
                else:
                    await conn.execute(f'CREATE ROLE "{name}" WITH LOGIN PASSWORD {literal}')
            except asyncpg.DuplicateObjectError:  # created concurrently: set the password
                await conn.execute(f'ALTER ROLE "{name}" WITH LOGIN PASSWORD {literal}')
            # Giving the role a database needs membership in it: PostgreSQL 16 gives a CREATEROLE
            # admin that through createrole_self_grant (the chart's init script); older servers
            # (an external Postgres) need the grant.
            if not await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", name):
                await conn.execute(f'GRANT "{name}" TO CURRENT_USER')
            if not await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", name
            ) and not await self.spares.claim(conn, name):
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # made concurrently
                    await conn.execute(f'CREATE DATABASE "{name}"')
            # Every time, so that a crash between the rename (or creation) and here is repaired.
            await conn.execute(f'ALTER DATABASE "{name}" OWNER TO "{name}"')
            # Agents must not read each other's databases.
            await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
        self.spares.refill()

    async def drop(self, deployment_id: str) -> None:
        """Drops the agent's database and role, empties and frees its Redis number."""
        name = identifier(deployment_id)
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'DROP ROLE IF EXISTS "{name}"')
            # The stored hash first: keep_acl_users must not bring the user back meanwhile.
            number = await conn.fetchval(
                "UPDATE lgcp_listener_redis_databases SET acl_password_sha256 = NULL WHERE deployment_id = $1 "
                "RETURNING db_number",
                deployment_id,
            )
        if number is not None:
            client = aioredis.Redis.from_url(redis_uri(self.agent_redis_url, number))
            try:
                await client.flushdb()
                if self.redis_acl:
                    # Also disconnects any client still authenticated as the user. A Redis that
                    # refuses ACL commands never had the user: that must not block the deletion.
                    try:
                        await client.execute_command("ACL", "DELUSER", redis_user(deployment_id))  # type: ignore[no-untyped-call]  # redis-py: unannotated
                    except ResponseError as exc:
                        log.warning("could not delete the Redis user of %s: %s", deployment_id, exc)
            finally:
                await client.aclose()
            async with pool.acquire() as conn:
                await conn.execute("DELETE FROM lgcp_listener_redis_databases WHERE deployment_id = $1", deployment_id)

    async def provisioned(self) -> set[str]:
        """Deployment ids holding a Redis number (provisioned and not dropped)."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            return {
                row["deployment_id"]
                for row in await conn.fetch("SELECT deployment_id FROM lgcp_listener_redis_databases")
            }
