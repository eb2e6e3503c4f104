"""`dedicated` mode as a `DatabaseMode`: the I/O (passwords generated once, stored before use
and read back; the data dropped on an API deletion with retention `delete`) around the pure
objects and readiness of `objects.py` and `readiness.py`."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import unquote, urlsplit

from lgcp_contract.data_stores import DEDICATED
from lgcp_contract.desired_state import DesiredDeployment

from ...configuration import DedicatedConfig
from ...kube.client import Kube
from ...objects import Manifest, belongs_to, held_by_another
from ...render.context import AgentConnections, Owner, RenderContext
from ...render.hashing import stamp
from ...status.rollout import Rollout
from ..mode import DatabaseModeError, ObjectLookup
from .connections import DedicatedAgentConnections, dedicated
from .names import (
    POSTGRES_PASSWORD_KEY,
    REDIS_PASSWORD_KEY,
    credentials_secret_name,
    database_uri,
    host,
    owned_names,
    postgres_name,
    redis_name,
    redis_uri,
    volume_claim_name,
)
from .objects import credentials_secret, database_objects, live_claim
from .readiness import databases_rollout


class DedicatedDatabaseError(DatabaseModeError):
    """The agent's database cannot be set up as it stands; the message says why and what to do."""


def _decoded(secret: Manifest | None, key: str) -> str | None:
    value = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(value).decode() if value else None


def _uri_password(secret: Manifest | None, key: str, server: str) -> str | None:
    """The password of the env Secret's URI `key` when it points at `server` (this mode's)."""
    uri = _decoded(secret, key)
    if not uri:
        return None
    parts = urlsplit(uri)
    return unquote(parts.password) if parts.password and parts.hostname == server else None


class DedicatedMode:
    """A Postgres and a Redis StatefulSet of its own for every agent, in its namespace."""

    kinds: tuple[str, ...] = ("StatefulSet", "NetworkPolicy")
    needs_provisioning = True

    def __init__(self, kube: Kube, config: DedicatedConfig, ctx: RenderContext) -> None:
        self.kube, self.config, self.ctx = kube, config, ctx

    def owned_names(self, name: str) -> list[tuple[str, str]]:
        return owned_names(name)  # its volume claim included

    async def connections(self, desired: DesiredDeployment, env_secret: Manifest | None) -> DedicatedAgentConnections:
        """URIs of the agent's own servers, with the stored passwords (new ones the first time).

        `env_secret` holds the passwords too, and is where they are found again if the
        credentials Secret was deleted while the agent ran.
        """
        ns = desired.namespace
        stored = await self.kube.get("Secret", ns, credentials_secret_name(desired.name))
        if held_by_another(stored, desired.id):
            raise DedicatedDatabaseError(
                f"Secret/{credentials_secret_name(desired.name)} exists in namespace {ns!r} and is not this "
                "deployment's: remove it or choose another name"
            )
        kept = bool(_decoded(stored, POSTGRES_PASSWORD_KEY) and _decoded(stored, REDIS_PASSWORD_KEY))
        postgres = _decoded(stored, POSTGRES_PASSWORD_KEY) or _uri_password(
            env_secret, "DATABASE_URI", host(desired, postgres_name(desired.name))
        )
        redis = _decoded(stored, REDIS_PASSWORD_KEY) or _uri_password(
            env_secret, "REDIS_URI", host(desired, redis_name(desired.name))
        )
        if postgres is None:
            claim = await self.kube.get("PersistentVolumeClaim", ns, volume_claim_name(desired.name))
            if claim is not None:
                raise DedicatedDatabaseError(
                    f"PersistentVolumeClaim/{volume_claim_name(desired.name)} holds a database whose password "
                    f"is lost (Secret/{credentials_secret_name(desired.name)} is gone): restore that Secret, "
                    "or delete the claim to start with an empty database"
                )
        postgres = postgres or secrets.token_urlsafe(24)
        redis = redis or secrets.token_urlsafe(24)
        live = await self.kube.get("StatefulSet", ns, postgres_name(desired.name))
        claim_template = live_claim(live) if belongs_to(live, desired.id) else None
        return DedicatedAgentConnections(
            database_uri(desired, postgres),
            redis_uri(desired, redis),
            postgres_password=postgres,
            redis_password=redis,
            stored=kept,
            credentials_found=stored is not None,
            postgres_claim=claim_template,
        )

    async def provision(self, desired: DesiredDeployment, conn: AgentConnections) -> None:
        """Stores the passwords in the credentials Secret, before any database pod can start.

        Created, never overwritten: if it appeared meanwhile, the next pass reads it back. One
        found without a key (edited by hand) gets the missing one, keeping the other.
        """
        own = dedicated(conn)
        if own.stored:
            return
        secret = stamp(credentials_secret(desired, own, self.ctx))
        if own.credentials_found:
            await self.kube.apply(secret)
        else:
            await self.kube.create(secret)

    def objects(self, desired: DesiredDeployment, conn: AgentConnections, owner: Owner | None) -> list[Manifest]:
        return database_objects(desired, dedicated(conn), self.ctx, self.config, owner)

    def rollout(self, desired: DesiredDeployment, lookup: ObjectLookup, pods: list[Manifest]) -> Rollout:
        return databases_rollout(desired, lambda name: lookup("StatefulSet", name), pods)

    async def data_store(self) -> str:
        """Each agent's Postgres is its own, in its cluster: never shared with another listener."""
        return DEDICATED

    async def release(self, desired: DesiredDeployment) -> None:
        """Deletes the agent's volume claim and credentials Secret, each by name and only when
        labelled as this deployment's."""
        name = desired.name
        for kind, object_name in (
            ("PersistentVolumeClaim", volume_claim_name(name)),
            ("Secret", credentials_secret_name(name)),
        ):
            found = await self.kube.get(kind, desired.namespace, object_name)
            if found is not None and belongs_to(found, desired.id):
                await self.kube.delete(kind, desired.namespace, object_name, uid=found["metadata"]["uid"])

    async def close(self) -> None:
        """Nothing to close: the Kubernetes client is the wiring's."""
