"""Who is calling: the API key (X-Api-Key), its role and the tenant it acts in (X-Tenant-Id)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, HTTPException, Request, status

from ..kit.ttl_cache import TtlCache
from . import repository
from .keys import key_hmac
from .repository import DEFAULT_TENANT
from .roles import Role

__all__ = ["DEFAULT_TENANT", "Principal", "PrincipalCache", "authenticate", "require"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, resolved to exactly one tenant."""

    api_key_id: uuid.UUID
    role: Role
    tenant_id: uuid.UUID
    # True for platform keys that reach every tenant (bootstrap admin).
    platform: bool


async def _principal_cache(request: Request) -> TtlCache[Principal]:
    cache: TtlCache[Principal] = request.app.state.principal_cache
    return cache


# Checked keys, trusted for LGCP_AUTH_CACHE_SECONDS; revoking a key clears it.
PrincipalCache = Annotated[TtlCache[Principal], Depends(_principal_cache)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "ApiKey"})


async def authenticate(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    x_tenant_id: Annotated[
        str | None, Header(description="tenant (workspace) id; needed when a key reaches several")
    ] = None,
) -> Principal:
    """Checks the key against its HMAC and picks the tenant; 401 or 403 otherwise. Also called
    directly by the web UI with the key of its session."""
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
    secret_key: str = request.app.state.secret_key
    cache: TtlCache[Principal] = request.app.state.principal_cache
    digest = key_hmac(secret_key, x_api_key)
    cached = cache.get((digest, tenant_header))
    if cached is not None:
        return cached
    pool: asyncpg.Pool = request.app.state.pool
    generation = cache.generation  # a revocation clearing the cache during the read wins
    principal = await _resolve(pool, digest, tenant_header)
    cache.put((digest, tenant_header), principal, generation)
    return principal


async def _resolve(pool: asyncpg.Pool, digest: bytes, tenant_header: uuid.UUID | None) -> Principal:
    async with pool.acquire() as conn:
        row = await repository.find_live_key(conn, digest, tenant_header)
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
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-Tenant-Id header is required: no default tenant exists")
    return Principal(row["id"], role, row["platform_tenant"], platform=True)


def require(allowed: frozenset[Role], refusal: str = "may not do this") -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and then checks the role; 403 when not allowed, with
    `refusal` after the role's name as the reason."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role.value!r} {refusal}")
        return principal

    return dependency
