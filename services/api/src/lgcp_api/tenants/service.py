"""Tenant and API key rows."""

from __future__ import annotations

import uuid

import asyncpg

from .. import audit
from ..auth.keys import display_prefix, generate_api_key, key_hmac
from ..auth.principal import Principal
from ..auth.roles import Role
from ..http.errors import conflict, not_found
from ..http.paging import Page

_KEY_COLUMNS = "id, tenant_id, name, role, key_prefix, created_at, revoked_at"


async def create_tenant(conn: asyncpg.Connection, principal: Principal, name: str) -> asyncpg.Record:
    try:
        row = await conn.fetchrow(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
            uuid.uuid4(), name,
        )
    except asyncpg.UniqueViolationError:
        raise conflict(f"a tenant named {name!r} already exists") from None
    await audit.record(conn, principal, "create", "tenant", row["id"])
    return row


async def list_tenants(conn: asyncpg.Connection, principal: Principal, page: Page) -> list[asyncpg.Record]:
    """Platform admins see every tenant; a tenant's admin sees its own."""
    return await conn.fetch(
        "SELECT id, name, created_at FROM tenants WHERE $1 OR id = $2 "
        "ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        principal.platform, principal.tenant_id, page.limit, page.offset,
    )


async def get_tenant(conn: asyncpg.Connection, principal: Principal, tenant_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT id, name, created_at FROM tenants WHERE id = $1 AND ($2 OR id = $3)",
        tenant_id, principal.platform, principal.tenant_id,
    )
    if row is None:
        raise not_found("tenant")
    return row


async def create_key(
    conn: asyncpg.Connection, secret_key: str, principal: Principal, name: str, role: Role
) -> tuple[asyncpg.Record, str]:
    """A new key in the caller's tenant; returns the row and the key (its only appearance)."""
    key = generate_api_key()
    row = await conn.fetchrow(
        f"INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) "
        f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_KEY_COLUMNS}",
        uuid.uuid4(), principal.tenant_id, name, role.value, key_hmac(secret_key, key),
        display_prefix(key),
    )
    await audit.record(conn, principal, "create", "api_key", row["id"])
    return row, key


async def list_keys(conn: asyncpg.Connection, principal: Principal, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        principal.tenant_id, page.limit, page.offset,
    )


async def revoke_key(conn: asyncpg.Connection, principal: Principal, key_id: uuid.UUID) -> None:
    revoked = await conn.fetchval(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
        "WHERE id = $1 AND tenant_id = $2 RETURNING id",
        key_id, principal.tenant_id,
    )
    if revoked is None:
        raise not_found("API key")
    await audit.record(conn, principal, "revoke", "api_key", key_id)


async def audit_page(conn: asyncpg.Connection, principal: Principal, page: Page) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, api_key_id, action, object_type, object_id, at FROM audit_log "
        "WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        principal.tenant_id, page.limit, page.offset,
    )
