"""Where each agent's Postgres and Redis are, per database mode, and provisioning them.

`shared`: its own database, role and Redis number on the data-plane servers (see databases.py);
the role's password is generated once and kept in the agent's Secret, which is written before
the role gets it, so a crash between the two never loses it.
`external`: connection templates filled with the agent's name and id; nothing to provision.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import unquote, urlsplit

from .databases import SharedDatabases, identifier, redis_uri
from .desired import DesiredDeployment
from .render import AgentConnections


def stored_password(secret: dict | None) -> str | None:
    """The database password kept in an agent's env Secret, if any."""
    encoded = ((secret or {}).get("data") or {}).get("DATABASE_URI")
    if not encoded:
        return None
    password = urlsplit(base64.b64decode(encoded).decode()).password
    return unquote(password) if password else None


class SharedConnections:
    """Shared mode: one Postgres database + role and one Redis number per agent."""

    needs_provisioning = True

    def __init__(self, databases: SharedDatabases) -> None:
        self.databases = databases

    async def connections(self, desired: DesiredDeployment, secret: dict | None) -> AgentConnections:
        """URIs with the password stored in `secret` (or a new one) and the agent's Redis number."""
        password = stored_password(secret) or secrets.token_urlsafe(24)
        number = await self.databases.redis_number(desired.id)
        return AgentConnections(self.databases.database_uri(desired.id, password),
                                redis_uri(self.databases.agent_redis_url, number))

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Creates the role and database (idempotent), with the password of `conn`."""
        await self.databases.ensure(desired.id, unquote(urlsplit(conn.database_uri).password or ""))

    async def release(self, deployment_id: str) -> None:
        """Drops the agent's database and role and frees its Redis number."""
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
