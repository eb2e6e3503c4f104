"""The one query authentication needs: a live key by its HMAC, with the tenant it acts in."""

from __future__ import annotations

import uuid

import asyncpg

from ..core.database import Conn

DEFAULT_TENANT = "default"


async def find_live_key(conn: Conn, digest: bytes, tenant_header: uuid.UUID | None) -> asyncpg.Record | None:
    """The unrevoked key with this HMAC: its id, role and tenant, and for a platform key (no
    tenant of its own) the tenant it acts in: the one the header names, else `default`."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT k.id, k.role, k.tenant_id,
               CASE WHEN k.tenant_id IS NULL THEN
                   CASE WHEN $2::uuid IS NULL
                        THEN (SELECT id FROM tenants WHERE name = $3)
                        ELSE (SELECT id FROM tenants WHERE id = $2) END
               END AS platform_tenant
        FROM api_keys k WHERE k.key_hmac = $1 AND k.revoked_at IS NULL
        """,
        digest,
        tenant_header,
        DEFAULT_TENANT,
    )
    return row
