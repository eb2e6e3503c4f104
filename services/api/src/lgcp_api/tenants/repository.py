"""tenants and api_keys rows."""

from __future__ import annotations

import uuid

import asyncpg

from ..core.database import Conn, fetch_one
from ..http.errors import conflict
from ..http.paging import Listing, Page, fetch_page


async def insert_tenant(conn: Conn, name: str) -> asyncpg.Record:
    """A new tenant; 409 when the name is taken."""
    try:
        row = await fetch_one(
            conn, "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at", uuid.uuid4(), name
        )
    except asyncpg.UniqueViolationError:
        raise conflict(f"a tenant named {name!r} already exists") from None
    return row


async def ensure_tenant(conn: Conn, name: str) -> None:
    """Creates the tenant unless it exists; safe when several replicas start at once."""
    await conn.execute(
        "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", uuid.uuid4(), name
    )


async def visible_tenants(conn: Conn, platform: bool, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """Every tenant for a platform key, else only `tenant_id`; newest first."""
    return await fetch_page(
        conn,
        "SELECT id, name, created_at FROM tenants WHERE $1 OR id = $2 "
        "ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        platform,
        tenant_id,
        page=page,
    )


async def find_visible_tenant(
    conn: Conn, platform: bool, own_tenant_id: uuid.UUID, tenant_id: uuid.UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, name, created_at FROM tenants WHERE id = $1 AND ($2 OR id = $3)", tenant_id, platform, own_tenant_id
    )
    return row


async def insert_key(
    conn: Conn, tenant_id: uuid.UUID, name: str, role: str, digest: bytes, prefix: str
) -> asyncpg.Record:
    """A new key of the tenant, stored as its HMAC; answers the row without the HMAC."""
    row = await fetch_one(
        conn,
        "INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) VALUES ($1, $2, $3, $4, $5, $6) "
        "RETURNING id, tenant_id, name, role, key_prefix, created_at, revoked_at",
        uuid.uuid4(),
        tenant_id,
        name,
        role,
        digest,
        prefix,
    )
    return row


async def ensure_platform_admin_key(conn: Conn, digest: bytes, prefix: str) -> None:
    """The bootstrap admin key (no tenant: it reaches every one), unless it exists."""
    await conn.execute(
        "INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) "
        "VALUES ($1, NULL, 'bootstrap admin', 'admin', $2, $3) ON CONFLICT (key_hmac) DO NOTHING",
        uuid.uuid4(),
        digest,
        prefix,
    )


async def ensure_listener_key(conn: Conn, tenant_name: str, digest: bytes, prefix: str) -> str:
    """The bootstrap listener key in the named tenant, unless a key with this HMAC exists;
    answers the role of the key that has it (which may be another one's)."""
    await conn.execute(
        "INSERT INTO api_keys (id, tenant_id, name, role, key_hmac, key_prefix) "
        "SELECT $1, id, 'bootstrap listener', 'listener', $2, $3 FROM tenants WHERE name = $4 "
        "ON CONFLICT (key_hmac) DO NOTHING",
        uuid.uuid4(),
        digest,
        prefix,
        tenant_name,
    )
    role: str = await conn.fetchval("SELECT role FROM api_keys WHERE key_hmac = $1", digest)
    return role


# Never key_hmac: a list of keys shows their prefixes only.
_KEY_COLUMNS = "id, tenant_id, name, role, key_prefix, created_at, revoked_at"
_KEYS = Listing("api_keys", "tenant_id", _KEY_COLUMNS)


async def tenant_keys(conn: Conn, tenant_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """The tenant's API keys, newest first."""
    return await _KEYS.fetch(conn, tenant_id, page)


async def revoke_key(conn: Conn, tenant_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Marks the key revoked (once: a second revocation keeps the first time); False when the
    tenant has no such key."""
    revoked = await conn.fetchval(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND tenant_id = $2 RETURNING id",
        key_id,
        tenant_id,
    )
    return revoked is not None
