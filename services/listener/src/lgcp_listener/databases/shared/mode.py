"""`shared` mode as a `DatabaseMode`: one Postgres database + role, one Redis number and one
Redis ACL user per agent on the data-plane servers.

The role's and the Redis user's passwords are generated once and kept in the agent's env Secret
(`DATABASE_URI`, `REDIS_URI`), which is written before the role or user gets them, so a crash
between the two never loses them.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import unquote, urlsplit

from lgcp_contract.data_stores import shared_store
from lgcp_contract.desired_state import DesiredDeployment

from ...configuration import SharedDatabasesConfig
from ...objects import Manifest
from ...render.context import AgentConnections, Owner
from ...status.rollout import Rollout
from ..mode import DATABASES_READY, ObjectLookup
from .identifiers import redis_user
from .server import SharedDatabases


def _stored_uri(secret: Manifest | None, key: str) -> str | None:
    encoded = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(encoded).decode() if encoded else None


def stored_password(secret: Manifest | None) -> str | None:
    """The database password kept in an agent's env Secret, if any."""
    uri = _stored_uri(secret, "DATABASE_URI")
    password = urlsplit(uri).password if uri else None
    return unquote(password) if password else None


def stored_redis_password(secret: Manifest | None, user: str) -> str | None:
    """The password of the agent's Redis ACL user `user` kept in its env Secret, if any (a
    `REDIS_URI` with another user, or none, as before agents had users of their own, holds none)."""
    uri = _stored_uri(secret, "REDIS_URI")
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.username is None or unquote(parts.username) != user or not parts.password:
        return None
    return unquote(parts.password)


class SharedMode:
    """Shared mode: one Postgres database + role and one Redis number per agent."""

    kinds: tuple[str, ...] = ()
    needs_provisioning = True

    def __init__(self, databases: SharedDatabases) -> None:
        self.databases = databases

    @classmethod
    def from_config(cls, config: SharedDatabasesConfig) -> SharedMode:
        return cls(
            SharedDatabases(
                config.admin_url,
                config.agent_host,
                config.agent_port,
                config.agent_redis_url,
                config.redis_databases,
                config.redis_acl,
                spare_databases=config.spare_databases,
            )
        )

    def owned_names(self, name: str) -> list[tuple[str, str]]:
        return []  # nothing in the agent's namespace

    async def connections(self, desired: DesiredDeployment, env_secret: Manifest | None) -> AgentConnections:
        """URIs with the passwords stored in `env_secret` (or new ones) and the agent's Redis number."""
        password = stored_password(env_secret) or secrets.token_urlsafe(24)
        redis_password = stored_redis_password(env_secret, redis_user(desired.id)) or secrets.token_urlsafe(24)
        number = await self.databases.redis_number(desired.id)
        return AgentConnections(
            self.databases.database_uri(desired.id, password),
            self.databases.agent_redis_uri(desired.id, number, redis_password),
        )

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Creates the role and database and the Redis user (idempotent), with the passwords of `conn`."""
        await self.databases.ensure(desired.id, unquote(urlsplit(conn.database_uri).password or ""))
        redis = urlsplit(conn.redis_uri)
        await self.databases.ensure_redis_user(desired.id, int(redis.path.lstrip("/")), unquote(redis.password or ""))

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, owner: Owner | None) -> list[Manifest]:
        return []

    def rollout(self, desired: DesiredDeployment, lookup: ObjectLookup, pods: list[Manifest]) -> Rollout:
        return DATABASES_READY  # provisioned before the agent's objects are applied

    async def data_store(self) -> str:
        """The shared Postgres server's own id (kept in it)."""
        return shared_store(await self.databases.server_id())

    async def release(self, desired: DesiredDeployment) -> None:
        """Drops the agent's database and role, its Redis user, and frees its Redis number."""
        await self.databases.drop(desired.id)

    async def close(self) -> None:
        """Stops the background work and closes the admin connections."""
        await self.databases.close()
