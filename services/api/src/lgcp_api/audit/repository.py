"""audit_log rows: appended in the same transaction as the change they record."""

from __future__ import annotations

import uuid

import asyncpg

from ..auth.principal import Principal
from ..core.database import Conn
from ..http.paging import Page, fetch_page


async def record(conn: Conn, principal: Principal, action: str, object_type: str, object_id: uuid.UUID | None) -> None:
    """Appends one entry; never contains request bodies (they may hold secrets)."""
    await conn.execute(
        "INSERT INTO audit_log (tenant_id, api_key_id, action, object_type, object_id) VALUES ($1, $2, $3, $4, $5)",
        principal.tenant_id,
        principal.api_key_id,
        action,
        object_type,
        object_id,
    )


async def list_page(conn: Conn, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The tenant's entries, newest first."""
    return await fetch_page(
        conn,
        "SELECT id, api_key_id, action, object_type, object_id, at FROM audit_log "
        "WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        tenant_id,
        page=page,
    )
