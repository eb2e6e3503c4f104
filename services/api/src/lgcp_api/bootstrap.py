"""First start: the `default` tenant and the platform admin key from LGCP_ADMIN_API_KEY."""

from __future__ import annotations

import uuid

import asyncpg

from .auth.keys import display_prefix, key_hmac
from .auth.principal import DEFAULT_TENANT


async def ensure_admin(pool: asyncpg.Pool, secret_key: str, admin_api_key: str) -> None:
    """Idempotent; safe when several replicas start at once (ON CONFLICT on unique columns)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            uuid.uuid4(), DEFAULT_TENANT,
        )
        await conn.execute(
            "INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) "
            "VALUES ($1, NULL, 'bootstrap admin', 'admin', $2, $3) ON CONFLICT (key_hmac) DO NOTHING",
            uuid.uuid4(), key_hmac(secret_key, admin_api_key), display_prefix(admin_api_key),
        )
