"""The audit log: who changed what, written in the same transaction as the change."""

from __future__ import annotations

import uuid

import asyncpg

from .auth.principal import Principal


async def record(
    conn: asyncpg.Connection, principal: Principal, action: str, object_type: str,
    object_id: uuid.UUID | None,
) -> None:
    """Appends one entry; never contains request bodies (they may hold secrets)."""
    await conn.execute(
        "INSERT INTO audit_log (tenant_id, api_key_id, action, object_type, object_id) "
        "VALUES ($1, $2, $3, $4, $5)",
        principal.tenant_id, principal.api_key_id, action, object_type, object_id,
    )
