"""Listener rows: create, read, change, delete, and the idempotent self-registration."""

from __future__ import annotations

import uuid

import asyncpg

from .. import audit
from ..auth.principal import Principal
from ..http.errors import conflict, not_found
from ..http.etags import check_if_match
from ..http.paging import Page
from .schemas import ListenerCreate, ListenerOut, ListenerPatch

_COLUMNS = (
    "id, tenant_id, compute_type, compute_id, compute_config, version, created_at, updated_at, "
    "last_seen_at"
)


def to_out(row: asyncpg.Record) -> ListenerOut:
    return ListenerOut.model_validate(dict(row))


def _duplicate(compute_id: str) -> Exception:
    return conflict(f"a listener with compute_id {compute_id!r} already exists in this tenant")


async def create(conn: asyncpg.Connection, principal: Principal, body: ListenerCreate) -> asyncpg.Record:
    try:
        row = await conn.fetchrow(
            f"INSERT INTO listeners (id, tenant_id, compute_type, compute_id, compute_config) "
            f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
            uuid.uuid4(), principal.tenant_id, body.compute_type, body.compute_id,
            body.compute_config.model_dump(mode="json"),
        )
    except asyncpg.UniqueViolationError:
        raise _duplicate(body.compute_id) from None
    await audit.record(conn, principal, "create", "listener", row["id"])
    return row


async def list_page(conn: asyncpg.Connection, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM listeners WHERE tenant_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        tenant_id, page.limit, page.offset,
    )


async def get(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, listener_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    """The listener in this tenant; 404 for a missing one and for another tenant's alike."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM listeners WHERE id = $1 AND tenant_id = $2"
        + (" FOR UPDATE" if lock else ""),
        listener_id, tenant_id,
    )
    if row is None:
        raise not_found("listener")
    return row


async def update(
    conn: asyncpg.Connection, principal: Principal, listener_id: uuid.UUID, body: ListenerPatch,
    if_match: str | None,
) -> asyncpg.Record:
    current = await get(conn, principal.tenant_id, listener_id, lock=True)
    check_if_match(if_match, current["version"])
    compute_id = body.compute_id if body.compute_id is not None else current["compute_id"]
    config = (
        body.compute_config.model_dump(mode="json")
        if body.compute_config is not None
        else current["compute_config"]
    )
    namespaces = config.get("k8s_namespaces") or []
    if namespaces:
        stranded = await conn.fetch(
            "SELECT name FROM deployments WHERE listener_id = $1 "
            "AND NOT (source_config -> 'listener_config' ->> 'k8s_namespace' = ANY($2::text[]))",
            listener_id, namespaces,
        )
        if stranded:
            raise conflict(
                "deployments in namespaces this change removes: "
                + ", ".join(sorted(r["name"] for r in stranded))
            )
    try:
        row = await conn.fetchrow(
            f"UPDATE listeners SET compute_id = $2, compute_config = $3, version = version + 1, "
            f"updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
            listener_id, compute_id, config,
        )
    except asyncpg.UniqueViolationError:
        raise _duplicate(compute_id) from None
    await audit.record(conn, principal, "update", "listener", listener_id)
    return row


async def delete(
    conn: asyncpg.Connection, principal: Principal, listener_id: uuid.UUID, if_match: str | None
) -> None:
    current = await get(conn, principal.tenant_id, listener_id, lock=True)
    check_if_match(if_match, current["version"])
    count = await conn.fetchval("SELECT count(*) FROM deployments WHERE listener_id = $1", listener_id)
    if count:
        raise conflict(f"the listener still runs {count} deployment(s); delete them first")
    await conn.execute("DELETE FROM listeners WHERE id = $1", listener_id)
    await audit.record(conn, principal, "delete", "listener", listener_id)


async def register(
    conn: asyncpg.Connection, principal: Principal, compute_id: str, namespaces: list[str]
) -> asyncpg.Record:
    """Creates or updates the listener with `compute_id`: safe to call on every start. Counts
    as contact (`last_seen_at`), which is not part of the version."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO listeners (id, tenant_id, compute_type, compute_id, compute_config, last_seen_at)
        VALUES ($1, $2, 'k8s', $3, $4, now())
        ON CONFLICT (tenant_id, compute_id) DO UPDATE SET
            compute_config = EXCLUDED.compute_config,
            last_seen_at = now(),
            version = listeners.version
                + (listeners.compute_config IS DISTINCT FROM EXCLUDED.compute_config)::int,
            updated_at = CASE WHEN listeners.compute_config IS DISTINCT FROM EXCLUDED.compute_config
                              THEN now() ELSE listeners.updated_at END
        RETURNING {_COLUMNS}
        """,
        uuid.uuid4(), principal.tenant_id, compute_id, {"k8s_namespaces": namespaces},
    )
    await audit.record(conn, principal, "register", "listener", row["id"])
    return row
