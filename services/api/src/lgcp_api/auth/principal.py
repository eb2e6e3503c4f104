"""Who is calling: the API key (X-Api-Key), its role and the tenant it acts in (X-Tenant-Id)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from .keys import key_hmac
from .roles import Role

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, resolved to exactly one tenant."""

    api_key_id: uuid.UUID
    role: Role
    tenant_id: uuid.UUID
    # True for platform keys that reach every tenant (bootstrap admin).
    platform: bool


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "ApiKey"})


async def authenticate(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    x_tenant_id: Annotated[
        str | None, Header(description="tenant (workspace) id; needed when a key reaches several")
    ] = None,
) -> Principal:
    """Checks the key against its HMAC and picks the tenant; 401 or 403 otherwise."""
    if not x_api_key:
        raise _unauthorized("X-Api-Key header is required")
    tenant_header: uuid.UUID | None = None
    if x_tenant_id:
        try:
            tenant_header = uuid.UUID(x_tenant_id)
        except ValueError:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": ["header", "X-Tenant-Id"], "msg": "must be a UUID", "type": "uuid_parsing"}],
            ) from None
    state = request.app.state
    digest = key_hmac(state.secret_key, x_api_key)
    cached = state.principal_cache.get((digest, tenant_header))
    if cached is not None:
        return cached
    principal = await _resolve(state, digest, tenant_header)
    state.principal_cache.put((digest, tenant_header), principal)
    return principal


async def _resolve(state, digest: bytes, tenant_header: uuid.UUID | None) -> Principal:
    async with state.pool.acquire() as conn:
        row = await conn.fetchrow(
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
    if row is None:
        raise _unauthorized("invalid or revoked API key")
    role = Role(row["role"])
    if row["tenant_id"] is not None:
        if tenant_header is not None and tenant_header != row["tenant_id"]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key cannot act in that tenant")
        return Principal(row["id"], role, row["tenant_id"], platform=False)
    if row["platform_tenant"] is None:
        if tenant_header is not None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "tenant not found")
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "X-Tenant-Id header is required: no default tenant exists"
        )
    return Principal(row["id"], role, row["platform_tenant"], platform=True)


def require(allowed: frozenset[Role], refusal: str = "may not do this") -> Callable:
    """A dependency that authenticates and then checks the role; 403 when not allowed, with
    `refusal` after the role's name as the reason."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role.value!r} {refusal}"
            )
        return principal

    return dependency
