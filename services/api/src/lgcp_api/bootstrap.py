"""First start: the `default` tenant, the platform admin key from LGCP_ADMIN_API_KEY and the
listener key from LGCP_LISTENER_API_KEY."""

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


class BootstrapError(RuntimeError):
    """A bootstrap key that cannot be what its setting asks for; names the setting."""


async def ensure_listener(pool: asyncpg.Pool, secret_key: str, listener_api_key: str) -> None:
    """The listener key, bound to the `default` tenant (where the chart's listener registers):
    a leaked data-plane key then reads no other tenant's secrets. Idempotent like ensure_admin;
    a revoked key stays revoked."""
    digest = key_hmac(secret_key, listener_api_key)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            uuid.uuid4(), DEFAULT_TENANT,
        )
        await conn.execute(
            "INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) "
            "SELECT $1, id, 'bootstrap listener', 'listener', $2, $3 FROM tenants WHERE name = $4 "
            "ON CONFLICT (key_hmac) DO NOTHING",
            uuid.uuid4(), digest, display_prefix(listener_api_key), DEFAULT_TENANT,
        )
        role = await conn.fetchval("SELECT role FROM api_keys WHERE key_hmac = $1", digest)
    if role != "listener":
        raise BootstrapError(
            f"LGCP_LISTENER_API_KEY is already a key with the role {role!r}; "
            "set a new random value for the listener"
        )
