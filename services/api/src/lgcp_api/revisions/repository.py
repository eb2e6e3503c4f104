"""revisions and revision_events rows. Every writer holds its deployment's row lock first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from lgcp_contract.statuses import RevisionStatus

from ..core.database import Conn, fetch_one
from ..http.paging import Listing, Page
from .schemas import RevisionEvent

_REVISIONS = Listing("revisions", "deployment_id")
# A log reads top to bottom: oldest first.
_EVENTS = Listing("revision_events", "revision_id", "id, type, reason, message, object, timestamp", order="id")


async def list_page(conn: Conn, deployment_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The deployment's revisions, newest first."""
    return await _REVISIONS.fetch(conn, deployment_id, page)


async def find(
    conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, revision_id: uuid.UUID
) -> asyncpg.Record | None:
    """The revision of that deployment in this tenant, sealed secrets included."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT r.* FROM revisions r JOIN deployments d ON d.id = r.deployment_id "
        "WHERE r.id = $1 AND r.deployment_id = $2 AND d.tenant_id = $3",
        revision_id,
        deployment_id,
        tenant_id,
    )
    return row


async def find_many(conn: Conn, tenant_id: uuid.UUID, revision_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """Those of `revision_ids` that exist in this tenant, in no particular order."""
    return await conn.fetch(
        "SELECT r.* FROM revisions r JOIN deployments d ON d.id = r.deployment_id "
        "WHERE r.id = ANY($1::uuid[]) AND d.tenant_id = $2",
        list(revision_ids),
        tenant_id,
    )


async def by_id(conn: Conn, revision_id: uuid.UUID) -> asyncpg.Record:
    row = await fetch_one(conn, "SELECT * FROM revisions r WHERE r.id = $1", revision_id)
    return row


async def sealed_secrets(conn: Conn, revision_id: uuid.UUID) -> bytes | None:
    """The revision's sealed secret set (None when it has no secrets)."""
    ciphertext: bytes | None = await conn.fetchval(
        "SELECT secrets_ciphertext FROM revisions WHERE id = $1", revision_id
    )
    return ciphertext


@dataclass(frozen=True)
class NewRevision:
    """The columns of a new revision row; it starts QUEUED."""

    id: uuid.UUID
    deployment_id: uuid.UUID
    source_revision_config: dict[str, Any]
    resource_spec: dict[str, Any]
    secret_names: list[str]
    secrets_ciphertext: bytes | None
    secret_references: list[dict[str, Any]]
    redeployed_from: uuid.UUID | None


async def insert(conn: Conn, new: NewRevision) -> None:
    await conn.execute(
        """
        INSERT INTO revisions (id, deployment_id, status, source_revision_config, resource_spec,
            secret_names, secrets_ciphertext, secret_references, redeployed_from)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        new.id,
        new.deployment_id,
        RevisionStatus.QUEUED.value,
        new.source_revision_config,
        new.resource_spec,
        new.secret_names,
        new.secrets_ciphertext,
        new.secret_references,
        new.redeployed_from,
    )


async def lock_in_statuses(
    conn: Conn, deployment_id: uuid.UUID, statuses: Sequence[RevisionStatus]
) -> list[asyncpg.Record]:
    """The deployment's revisions in one of `statuses` (id, status), locked."""
    return await conn.fetch(
        "SELECT id, status FROM revisions WHERE deployment_id = $1 AND status = ANY($2::text[]) FOR UPDATE",
        deployment_id,
        [s.value for s in statuses],
    )


async def lock_status(conn: Conn, revision_id: uuid.UUID) -> RevisionStatus:
    """The revision's status, its row locked."""
    return RevisionStatus(await conn.fetchval("SELECT status FROM revisions WHERE id = $1 FOR UPDATE", revision_id))


async def set_status(conn: Conn, revision_id: uuid.UUID, status: RevisionStatus, message: str | None) -> asyncpg.Record:
    row = await fetch_one(
        conn,
        "UPDATE revisions r SET status = $2, status_message = $3, updated_at = clock_timestamp() "
        "WHERE r.id = $1 RETURNING *",
        revision_id,
        status.value,
        message,
    )
    return row


async def deployment_of(conn: Conn, tenant_id: uuid.UUID, revision_id: uuid.UUID) -> uuid.UUID | None:
    """The deployment the revision belongs to, when it is in this tenant."""
    deployment_id: uuid.UUID | None = await conn.fetchval(
        "SELECT r.deployment_id FROM revisions r JOIN deployments d ON d.id = r.deployment_id "
        "WHERE r.id = $1 AND d.tenant_id = $2",
        revision_id,
        tenant_id,
    )
    return deployment_id


async def insert_events(conn: Conn, revision_id: uuid.UUID, events: Sequence[RevisionEvent]) -> None:
    await conn.executemany(
        "INSERT INTO revision_events (revision_id, type, reason, message, object, timestamp) "
        "VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))",
        [(revision_id, e.type, e.reason, e.message, e.object, e.timestamp) for e in events],
    )


async def events_page(conn: Conn, revision_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The revision's events, oldest first."""
    return await _EVENTS.fetch(conn, revision_id, page)
