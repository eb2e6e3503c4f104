"""Where each agent's Postgres and Redis are, per database mode, and provisioning them.

`shared`: its own database, role and Redis number on the data-plane servers, and a Redis ACL user
limited to that number (see databases.py); the role's and the Redis user's passwords are
generated once and kept in the agent's Secret (`DATABASE_URI`, `REDIS_URI`), which is written
before the role or user gets them, so a crash between the two never loses them.
`external`: connection templates filled with the agent's name and id; nothing to provision.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import unquote, urlsplit

from .databases import SharedDatabases, identifier, redis_user
from .desired import DesiredDeployment
from .render import AgentConnections


def stored_password(secret: dict | None) -> str | None:
    """The database password kept in an agent's env Secret, if any."""
    encoded = ((secret or {}).get("data") or {}).get("DATABASE_URI")
    if not encoded:
        return None
    password = urlsplit(base64.b64decode(encoded).decode()).password
    return unquote(password) if password else None


def stored_redis_password(secret: dict | None, user: str) -> str | None:
    """The password of the agent's Redis ACL user `user` kept in its env Secret, if any (a
    `REDIS_URI` with another user, or none, as before agents had users of their own, holds none)."""
    encoded = ((secret or {}).get("data") or {}).get("REDIS_URI")
    if not encoded:
        return None
    parts = urlsplit(base64.b64decode(encoded).decode())
    if parts.username is None or unquote(parts.username) != user or not parts.password:
        return None
    return unquote(parts.password)


class SharedConnections:
    """Shared mode: one Postgres database + role and one Redis number per agent."""

    needs_provisioning = True

    def __init__(self, databases: SharedDatabases) -> None:
        self.databases = databases

    async def connections(self, desired: DesiredDeployment, secret: dict | None) -> AgentConnections:
        """URIs with the passwords stored in `secret` (or new ones) and the agent's Redis number."""
        password = stored_password(secret) or secrets.token_urlsafe(24)
        redis_password = stored_redis_password(secret, redis_user(desired.id)) or secrets.token_urlsafe(24)
        number = await self.databases.redis_number(desired.id)
        return AgentConnections(self.databases.database_uri(desired.id, password),
                                self.databases.agent_redis_uri(desired.id, number, redis_password))

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Creates the role and database and the Redis user (idempotent), with the passwords of `conn`."""
        await self.databases.ensure(desired.id, unquote(urlsplit(conn.database_uri).password or ""))
        redis = urlsplit(conn.redis_uri)
        await self.databases.ensure_redis_user(desired.id, int(redis.path.lstrip("/")),
                                               unquote(redis.password or ""))

    async def release(self, deployment_id: str) -> None:
        """Drops the agent's database and role, its Redis user, and frees its Redis number."""
        await self.databases.drop(deployment_id)


class ExternalConnections:
    """External mode: URIs from templates with `{name}`, `{deployment_id}` and `{database}`."""

    needs_provisioning = False

    def __init__(self, database_template: str, redis_template: str | None) -> None:
        self.database_template, self.redis_template = database_template, redis_template

    def _fill(self, template: str, desired: DesiredDeployment) -> str:
        return template.format(name=desired.name, deployment_id=desired.id, database=identifier(desired.id))

    async def connections(self, desired: DesiredDeployment, secret: dict | None) -> AgentConnections:
        """The templates filled in for this agent."""
        redis = self._fill(self.redis_template, desired) if self.redis_template else ""
        return AgentConnections(self._fill(self.database_template, desired), redis)

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Nothing to create: external databases are managed outside the listener."""
        return None

    async def release(self, deployment_id: str) -> None:
        """Nothing to drop: external databases are managed outside the listener."""
        return None
