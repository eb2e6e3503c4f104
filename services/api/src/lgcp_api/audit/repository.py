"""audit_log rows: appended in the same transaction as the change they record."""

from __future__ import annotations

import uuid

import asyncpg

from ..auth.principal import Principal
from ..core.database import Conn
from ..http.paging import Listing, Page


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


_COLUMNS = "id, api_key_id, action, object_type, object_id, at"
_ENTRIES = Listing("audit_log", "tenant_id", _COLUMNS, order="at DESC, id DESC")


async def list_page(conn: Conn, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The tenant's entries, newest first."""
    return await _ENTRIES.fetch(conn, tenant_id, page)
