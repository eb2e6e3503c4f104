"""deployments rows. Callers own the transaction; a row is locked (`lock=True`) before any
change, always before its revisions (one lock order, so concurrent writers never deadlock)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from lgcp_contract.statuses import DeploymentStatus

from ..core.database import Conn, fetch_one
from ..http.errors import conflict, not_found
from ..http.paging import Page

_GET = "SELECT * FROM deployments d WHERE d.id = $1 AND d.tenant_id = $2"
_LOCK = _GET + " FOR UPDATE"


async def get(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record:
    """The deployment in this tenant (locked for the transaction with `lock`); 404 for a missing
    one and another tenant's alike."""
    row: asyncpg.Record | None = await conn.fetchrow(_LOCK if lock else _GET, deployment_id, tenant_id)
    if row is None:
        raise not_found("deployment")
    return row


@dataclass(frozen=True)
class ListFilters:
    name: str | None = None
    name_contains: str | None = None
    statuses: list[str] | None = None
    deployment_ids: list[uuid.UUID] | None = None
    image_version: str | None = None


async def list_page(conn: Conn, tenant_id: uuid.UUID, filters: ListFilters, page: Page) -> list[asyncpg.Record]:
    """Newest first; each filter given narrows the list (an empty id list matches nothing)."""
    return await conn.fetch(
        """
        SELECT * FROM deployments d
        WHERE d.tenant_id = $1
          AND ($2::text IS NULL OR d.name = $2)
          AND ($3::text IS NULL OR strpos(d.name, $3) > 0)
          AND ($4::text[] IS NULL OR d.status = ANY($4::text[]))
          AND ($5::uuid[] IS NULL OR d.id = ANY($5::uuid[]))
          AND ($6::text IS NULL OR d.image_version = $6)
        ORDER BY d.created_at DESC, d.id DESC LIMIT $7 OFFSET $8
        """,
        tenant_id,
        filters.name,
        filters.name_contains or None,
        filters.statuses or None,
        filters.deployment_ids,
        filters.image_version,
        page.limit,
        page.offset,
    )


@dataclass(frozen=True)
class NewDeployment:
    """The columns of a new deployment row; it starts AWAITING_DATABASE."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    source: str
    listener_id: uuid.UUID
    source_config: dict[str, Any]
    source_revision_config: dict[str, Any]
    secret_names: list[str]
    secret_references: list[dict[str, Any]]
    latest_revision_id: uuid.UUID
    image_version: str


async def insert(conn: Conn, new: NewDeployment) -> asyncpg.Record:
    """The new row; 409 when the tenant has a deployment of that name."""
    try:
        row = await fetch_one(
            conn,
            """
            INSERT INTO deployments AS d (id, tenant_id, name, source, listener_id, source_config,
                source_revision_config, secret_names, secret_references, status,
                latest_revision_id, image_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            RETURNING *
            """,
            new.id,
            new.tenant_id,
            new.name,
            new.source,
            new.listener_id,
            new.source_config,
            new.source_revision_config,
            new.secret_names,
            new.secret_references,
            DeploymentStatus.AWAITING_DATABASE.value,
            new.latest_revision_id,
            new.image_version,
        )
    except asyncpg.UniqueViolationError:
        raise conflict(f"a deployment named {new.name!r} already exists in this tenant") from None
    return row


async def set_source_config(conn: Conn, deployment_id: uuid.UUID, source_config: dict[str, Any]) -> asyncpg.Record:
    row = await fetch_one(
        conn,
        "UPDATE deployments AS d SET source_config = $2, version = version + 1, updated_at = now() "
        "WHERE id = $1 RETURNING *",
        deployment_id,
        source_config,
    )
    return row


async def point_at_revision(
    conn: Conn,
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    source_config: dict[str, Any],
    source_revision_config: dict[str, Any],
    secret_names: list[str],
    secret_references: list[dict[str, Any]],
    image_version: str,
) -> asyncpg.Record:
    """Makes `revision_id` the latest revision and the deployment's configuration equal to it."""
    row = await fetch_one(
        conn,
        """
        UPDATE deployments AS d SET latest_revision_id = $2, source_config = $3,
            source_revision_config = $4, secret_names = $5, secret_references = $6,
            image_version = $7, version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING *
        """,
        deployment_id,
        revision_id,
        source_config,
        source_revision_config,
        secret_names,
        secret_references,
        image_version,
    )
    return row


async def set_active_revision(conn: Conn, deployment_id: uuid.UUID, revision_id: uuid.UUID) -> None:
    """The revision now running (the listener reported it DEPLOYED)."""
    await conn.execute(
        "UPDATE deployments SET active_revision_id = $2, version = version + 1, updated_at = now() WHERE id = $1",
        deployment_id,
        revision_id,
    )


async def set_status(
    conn: Conn, deployment_id: uuid.UUID, status: DeploymentStatus, message: str | None
) -> asyncpg.Record:
    row = await fetch_one(
        conn,
        "UPDATE deployments AS d SET status = $2, status_message = $3, version = version + 1, "
        "updated_at = now() WHERE id = $1 RETURNING *",
        deployment_id,
        status.value,
        message,
    )
    return row


async def mark_awaiting_delete(conn: Conn, deployment_id: uuid.UUID) -> asyncpg.Record:
    row = await fetch_one(
        conn,
        "UPDATE deployments AS d SET status = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *",
        deployment_id,
        DeploymentStatus.AWAITING_DELETE.value,
    )
    return row


async def delete(conn: Conn, deployment_id: uuid.UUID) -> None:
    """Removes the row; its revisions, events and manifests go with it (ON DELETE CASCADE)."""
    await conn.execute("DELETE FROM deployments WHERE id = $1", deployment_id)


async def with_latest_revision(
    conn: Conn, listener_id: uuid.UUID, tenant_id: uuid.UUID, deployment_ids: list[uuid.UUID] | None
) -> list[asyncpg.Record]:
    """The listener's deployments (or only those of `deployment_ids`), oldest first, each with
    its latest revision's columns (`revision_*`) and sealed secrets."""
    return await conn.fetch(
        """
        SELECT d.*, r.id AS revision_id, r.status AS revision_status,
               r.source_revision_config AS revision_source, r.resource_spec AS revision_resources,
               r.secrets_ciphertext, r.created_at AS revision_created_at
        FROM deployments d JOIN revisions r ON r.id = d.latest_revision_id
        WHERE d.listener_id = $1 AND d.tenant_id = $2 AND ($3::uuid[] IS NULL OR d.id = ANY($3))
        ORDER BY d.created_at, d.id
        """,
        listener_id,
        tenant_id,
        deployment_ids,
    )


async def move_to_listener(
    conn: Conn, deployment_id: uuid.UUID, listener_id: uuid.UUID, source_config: dict[str, Any], message: str
) -> asyncpg.Record:
    """Points the deployment at another listener; it waits for its databases there again."""
    row = await fetch_one(
        conn,
        """
        UPDATE deployments AS d SET listener_id = $2, source_config = $3, status = $4, status_message = $5,
            version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING *
        """,
        deployment_id,
        listener_id,
        source_config,
        DeploymentStatus.AWAITING_DATABASE.value,
        message,
    )
    return row
