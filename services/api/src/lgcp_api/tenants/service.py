"""Tenants and their API keys: who may see which tenant, keys shown once, revocation."""

from __future__ import annotations

import uuid

import asyncpg

from ..audit import repository as audit
from ..auth.keys import display_prefix, generate_api_key, key_hmac
from ..auth.principal import Principal
from ..auth.roles import Role
from ..core.database import Conn
from ..http.errors import not_found
from ..http.paging import Page
from . import repository


async def create_tenant(conn: Conn, principal: Principal, name: str) -> asyncpg.Record:
    row = await repository.insert_tenant(conn, name)
    await audit.record(conn, principal, "create", "tenant", row["id"])
    return row


async def list_tenants(conn: Conn, principal: Principal, page: Page) -> list[asyncpg.Record]:
    """Platform admins see every tenant; a tenant's admin sees its own."""
    return await repository.visible_tenants(conn, principal.platform, principal.tenant_id, page)


async def get_tenant(conn: Conn, principal: Principal, tenant_id: uuid.UUID) -> asyncpg.Record:
    row = await repository.find_visible_tenant(conn, principal.platform, principal.tenant_id, tenant_id)
    if row is None:
        raise not_found("tenant")
    return row


async def create_key(
    conn: Conn, secret_key: str, principal: Principal, name: str, role: Role
) -> tuple[asyncpg.Record, str]:
    """A new key in the caller's tenant; returns the row and the key (its only appearance)."""
    key = generate_api_key()
    row = await repository.insert_key(
        conn, principal.tenant_id, name, role.value, key_hmac(secret_key, key), display_prefix(key)
    )
    await audit.record(conn, principal, "create", "api_key", row["id"])
    return row, key


async def list_keys(conn: Conn, principal: Principal, page: Page) -> list[asyncpg.Record]:
    return await repository.tenant_keys(conn, principal.tenant_id, page)


async def revoke_key(conn: Conn, principal: Principal, key_id: uuid.UUID) -> None:
    if not await repository.revoke_key(conn, principal.tenant_id, key_id):
        raise not_found("API key")
    await audit.record(conn, principal, "revoke", "api_key", key_id)


async def audit_page(conn: Conn, principal: Principal, page: Page) -> list[asyncpg.Record]:
    return await audit.list_page(conn, principal.tenant_id, page)
