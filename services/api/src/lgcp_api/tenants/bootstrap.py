"""First start: the `default` tenant, the platform admin key from LGCP_ADMIN_API_KEY and the
listener key from LGCP_LISTENER_API_KEY."""

from __future__ import annotations

import asyncpg

from ..auth.keys import display_prefix, key_hmac
from ..auth.principal import DEFAULT_TENANT
from . import repository


async def ensure_admin(pool: asyncpg.Pool, secret_key: str, admin_api_key: str) -> None:
    """Idempotent; safe when several replicas start at once (ON CONFLICT on unique columns)."""
    async with pool.acquire() as conn, conn.transaction():
        await repository.ensure_tenant(conn, DEFAULT_TENANT)
        await repository.ensure_platform_admin_key(
            conn, key_hmac(secret_key, admin_api_key), display_prefix(admin_api_key)
        )


class BootstrapError(RuntimeError):
    """A bootstrap key that cannot be what its setting asks for; names the setting."""


async def ensure_listener(pool: asyncpg.Pool, secret_key: str, listener_api_key: str) -> None:
    """The listener key, bound to the `default` tenant (where the chart's listener registers):
    a leaked data-plane key then reads no other tenant's secrets. Idempotent like ensure_admin;
    a revoked key stays revoked."""
    async with pool.acquire() as conn, conn.transaction():
        await repository.ensure_tenant(conn, DEFAULT_TENANT)
        role = await repository.ensure_listener_key(
            conn, DEFAULT_TENANT, key_hmac(secret_key, listener_api_key), display_prefix(listener_api_key)
        )
    if role != "listener":
        raise BootstrapError(
            f"LGCP_LISTENER_API_KEY is already a key with the role {role!r}; set a new random value for the listener"
        )
