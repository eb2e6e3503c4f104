"""listeners rows, and the deployments a listener change must not strand."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ..core.database import Conn, fetch_one
from ..http.errors import conflict, not_found
from ..http.paging import Listing, Page


def _duplicate(compute_id: str) -> Exception:
    return conflict(f"a listener with compute_id {compute_id!r} already exists in this tenant")


async def insert(
    conn: Conn, tenant_id: uuid.UUID, compute_type: str, compute_id: str, config: dict[str, Any]
) -> asyncpg.Record:
    """A new listener; 409 when the tenant has one with this compute_id."""
    try:
        row = await fetch_one(
            conn,
            "INSERT INTO listeners (id, tenant_id, compute_type, compute_id, compute_config) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING *",
            uuid.uuid4(),
            tenant_id,
            compute_type,
            compute_id,
            config,
        )
    except asyncpg.UniqueViolationError:
        raise _duplicate(compute_id) from None
    return row


_LISTENERS = Listing("listeners", "tenant_id")


async def list_page(conn: Conn, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The tenant's listeners, newest first."""
    return await _LISTENERS.fetch(conn, tenant_id, page)


_GET = "SELECT * FROM listeners WHERE id = $1 AND tenant_id = $2"
_LOCK = _GET + " FOR UPDATE"


async def get(conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record:
    """The listener in this tenant (locked for the transaction with `lock`); 404 for a missing
    one and for another tenant's alike."""
    row: asyncpg.Record | None = await conn.fetchrow(_LOCK if lock else _GET, listener_id, tenant_id)
    if row is None:
        raise not_found("listener")
    return row


async def namespaces(conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID) -> list[str] | None:
    """The namespaces the listener declares; None when the tenant has no such listener."""
    found: list[str] | None = await conn.fetchval(
        "SELECT compute_config -> 'k8s_namespaces' FROM listeners WHERE id = $1 AND tenant_id = $2",
        listener_id,
        tenant_id,
    )
    return found


async def update(conn: Conn, listener_id: uuid.UUID, compute_id: str, config: dict[str, Any]) -> asyncpg.Record:
    """Replaces compute_id and compute_config, bumping the version; 409 on a taken compute_id."""
    try:
        row = await fetch_one(
            conn,
            "UPDATE listeners SET compute_id = $2, compute_config = $3, version = version + 1, "
            "updated_at = now() WHERE id = $1 RETURNING *",
            listener_id,
            compute_id,
            config,
        )
    except asyncpg.UniqueViolationError:
        raise _duplicate(compute_id) from None
    return row


async def delete(conn: Conn, listener_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM listeners WHERE id = $1", listener_id)


async def upsert_registration(
    conn: Conn, tenant_id: uuid.UUID, compute_id: str, namespaces: list[str], data_store: str | None
) -> asyncpg.Record:
    """Creates or updates the listener with `compute_id`, recording contact. The version (ETag)
    moves only when the namespaces change. A `data_store` of None (not known at this start)
    keeps the one reported before."""
    row = await fetch_one(
        conn,
        """
        INSERT INTO listeners (id, tenant_id, compute_type, compute_id, compute_config, last_seen_at, data_store)
        VALUES ($1, $2, 'k8s', $3, $4, now(), $5)
        ON CONFLICT (tenant_id, compute_id) DO UPDATE SET
            compute_config = EXCLUDED.compute_config,
            last_seen_at = now(),
            data_store = COALESCE(EXCLUDED.data_store, listeners.data_store),
            version = listeners.version
                + (listeners.compute_config IS DISTINCT FROM EXCLUDED.compute_config)::int,
            updated_at = CASE WHEN listeners.compute_config IS DISTINCT FROM EXCLUDED.compute_config
                              THEN now() ELSE listeners.updated_at END
        RETURNING *
        """,
        uuid.uuid4(),
        tenant_id,
        compute_id,
        {"k8s_namespaces": namespaces},
        data_store,
    )
    return row


async def mark_seen(conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID, interval: float) -> None:
    """Sets last_seen_at to now unless some replica set it within `interval` seconds."""
    await conn.execute(
        "UPDATE listeners SET last_seen_at = now() WHERE id = $1 AND tenant_id = $2 "
        "AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $3))",
        listener_id,
        tenant_id,
        interval,
    )


async def stranded_deployments(conn: Conn, listener_id: uuid.UUID, namespaces: list[str]) -> list[str]:
    """Names of the listener's deployments whose namespace is not among `namespaces`."""
    rows = await conn.fetch(
        "SELECT name FROM deployments WHERE listener_id = $1 "
        "AND NOT (source_config -> 'listener_config' ->> 'k8s_namespace' = ANY($2::text[]))",
        listener_id,
        namespaces,
    )
    return [r["name"] for r in rows]


async def count_deployments(conn: Conn, listener_id: uuid.UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM deployments WHERE listener_id = $1", listener_id)
    return count


async def data_stores(conn: Conn, listener_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Each listener's reported data store (None: never reported)."""
    rows = await conn.fetch("SELECT id, data_store FROM listeners WHERE id = ANY($1::uuid[])", listener_ids)
    return {row["id"]: row["data_store"] for row in rows}
