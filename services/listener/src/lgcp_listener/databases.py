"""Each agent's own database and login role on the shared data-plane Postgres, and its Redis number.

Idempotent at every step, so a crash anywhere is repaired by running it again:
- the role and database are created only when missing, and the role's password is always set to
  the one the caller passes (which the caller has already stored in the agent's Secret);
- Redis numbers live in a table of the admin database with a unique constraint, handed out
  under a transaction-scoped advisory lock, so two agents never share one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

from .redis_numbers import pick_free

_ALLOCATION_LOCK = 0x6C676370  # "lgcp": serialises Redis number allocation across replicas

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lgcp_listener_redis_databases (
    deployment_id text PRIMARY KEY,
    db_number integer NOT NULL UNIQUE
)
"""


def identifier(deployment_id: str) -> str:
    """The agent's Postgres role and database name: `lgcp_` + its id, safe and at most 63 bytes."""
    cleaned = re.sub(r"[^a-z0-9_]", "", deployment_id.lower())
    if len(cleaned) > 50:
        cleaned = hashlib.sha256(deployment_id.encode()).hexdigest()[:40]
    return f"lgcp_{cleaned}"


def redis_uri(base: str, number: int) -> str:
    """`base` (a redis:// URL, any db path dropped) pointing at database `number`."""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, ""))


class SharedDatabases:
    """Provisions agents on one shared Postgres (admin URL) and one shared Redis."""

    def __init__(self, admin_url: str, agent_host: str, agent_port: int, agent_redis_url: str,
                 redis_databases: int) -> None:
        self.admin_url, self.agent_host, self.agent_port = admin_url, agent_host, agent_port
        self.agent_redis_url, self.redis_databases = agent_redis_url, redis_databases
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

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
        """Closes the admin connection pool."""
        if self._pool is not None:
            await self._pool.close()

    def database_uri(self, deployment_id: str, password: str) -> str:
        """The agent's own `postgresql://` URI, as its pods reach the server."""
        name = identifier(deployment_id)
        return f"postgresql://{name}:{quote(password, safe='')}@{self.agent_host}:{self.agent_port}/{name}"

    async def redis_number(self, deployment_id: str) -> int:
        """This deployment's Redis database number, allocating the lowest free one the first time."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _ALLOCATION_LOCK)
            held = await conn.fetchval(
                "SELECT db_number FROM lgcp_listener_redis_databases WHERE deployment_id = $1", deployment_id)
            if held is not None:
                return held
            used = [row["db_number"] for row in await conn.fetch("SELECT db_number FROM lgcp_listener_redis_databases")]
            number = pick_free(used, self.redis_databases)
            await conn.execute(
                "INSERT INTO lgcp_listener_redis_databases (deployment_id, db_number) VALUES ($1, $2)",
                deployment_id, number)
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
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                # CREATE DATABASE ... OWNER needs membership in the owner: PostgreSQL 16 gives a
                # CREATEROLE admin that through createrole_self_grant (the chart's init script);
                # older servers (an external Postgres) need the grant.
                if not await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", name):
                    await conn.execute(f'GRANT "{name}" TO CURRENT_USER')
                try:
                    await conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
                except asyncpg.DuplicateDatabaseError:
                    pass
            # Agents must not read each other's databases.
            await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')

    async def drop(self, deployment_id: str) -> None:
        """Drops the agent's database and role, empties and frees its Redis number."""
        name = identifier(deployment_id)
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'DROP ROLE IF EXISTS "{name}"')
            number = await conn.fetchval(
                "SELECT db_number FROM lgcp_listener_redis_databases WHERE deployment_id = $1", deployment_id)
        if number is not None:
            client = aioredis.Redis.from_url(redis_uri(self.agent_redis_url, number))
            try:
                await client.flushdb()
            finally:
                await client.aclose()
            async with pool.acquire() as conn:
                await conn.execute("DELETE FROM lgcp_listener_redis_databases WHERE deployment_id = $1", deployment_id)

    async def provisioned(self) -> set[str]:
        """Deployment ids holding a Redis number (provisioned and not dropped)."""
        pool = await self._conn_pool()
        async with pool.acquire() as conn:
            return {row["deployment_id"] for row in await conn.fetch("SELECT deployment_id FROM lgcp_listener_redis_databases")}
