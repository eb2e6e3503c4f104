"""What the listener made for agents on a data-plane PostgreSQL and Redis of a case's own (shared
database mode): roles, databases and ACL users, and whether an agent's stored URIs still log in."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from harness.postgres import PostgresServer
from harness.redis import RedisServer
from lgcp_listener.databases.shared.identifiers import identifier

SPARE_PREFIX = "lgcp_spare_"


@dataclass
class DataPlane:
    postgres: PostgresServer
    redis: RedisServer
    admin_db: str  # the listener's admin URL (its bookkeeping tables live there)

    async def roles(self) -> set[str]:
        return set(await self._names("SELECT rolname FROM pg_roles WHERE rolname LIKE 'lgcp\\_%'"))

    async def databases(self) -> set[str]:
        names = await self._names("SELECT datname FROM pg_database WHERE datname LIKE 'lgcp\\_%'")
        return {n for n in names if not n.startswith(SPARE_PREFIX)}

    async def redis_users(self) -> set[str]:
        client = aioredis.Redis.from_url(self.redis.url(0))
        try:
            users = await client.execute_command("ACL", "USERS")
        finally:
            await client.aclose()
        return {u.decode() for u in users if u.decode().startswith("lgcp_")}

    async def _names(self, query: str) -> list[str]:
        conn = await asyncpg.connect(self.postgres.dsn())
        try:
            return [r[0] for r in await conn.fetch(query)]
        finally:
            await conn.close()

    async def made_for(self, deployment_id: str) -> dict[str, bool]:
        """Which of an agent's parts exist now (a kill point's snapshot)."""
        name = identifier(deployment_id)
        return {
            "role": name in await self.roles(),
            "database": name in await self.databases(),
            "redis user": name in await self.redis_users(),
        }


def env_secret(cluster, namespace: str, name: str) -> dict[str, str] | None:
    proc = cluster.kubectl("get", "secret", f"{name}-env", "-n", namespace, "-o", "json", check=False)
    if proc.returncode != 0:
        return None

    data = json.loads(proc.stdout)["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


async def logs_in(database_uri: str, redis_uri: str) -> None:
    """Both of an agent's URIs authenticate (its password was not lost or replaced)."""
    conn = await asyncpg.connect(database_uri, timeout=5)
    try:
        assert await conn.fetchval("SELECT current_user") == database_uri.split("//")[1].split(":")[0]
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_uri, socket_timeout=5)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
