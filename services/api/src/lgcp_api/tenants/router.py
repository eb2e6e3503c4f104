"""/v2/tenants, /v2/api-keys and /v2/audit-log: administration (admin role)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status

from ..auth.principal import Principal, PrincipalCache, require
from ..auth.roles import ADMIN
from ..http.deps import AfterCommitJobs, Connection, SecretKey, Transaction
from ..http.paging import Page, PageOut, page_out, page_params
from . import service
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, AuditEntryOut, TenantCreate, TenantOut

router = APIRouter(tags=["administration"])
Admin = Annotated[Principal, Depends(require(ADMIN))]
Paging = Annotated[Page, Depends(page_params)]


@router.post("/tenants", status_code=201, response_model=TenantOut, summary="Create a tenant")
async def create_tenant(body: TenantCreate, principal: Admin, conn: Transaction) -> dict[str, Any]:
    if not principal.platform:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a platform admin key may create tenants")
    return dict(await service.create_tenant(conn, principal, body.name))


@router.get("/tenants", response_model=PageOut[TenantOut], summary="List tenants")
async def list_tenants(principal: Admin, page: Paging, conn: Connection) -> dict[str, Any]:
    rows = await service.list_tenants(conn, principal, page)
    return page_out([dict(r) for r in rows], page)


@router.get("/tenants/{tenant_id}", response_model=TenantOut, summary="Get a tenant")
async def get_tenant(tenant_id: uuid.UUID, principal: Admin, conn: Connection) -> dict[str, Any]:
    return dict(await service.get_tenant(conn, principal, tenant_id))


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key in the current tenant (the key is shown only here)",
)
async def create_api_key(
    body: ApiKeyCreate, principal: Admin, conn: Transaction, secret_key: SecretKey
) -> dict[str, Any]:
    row, key = await service.create_key(conn, secret_key, principal, body.name, body.role)
    return {**dict(row), "key": key}


@router.get("/api-keys", response_model=PageOut[ApiKeyOut], summary="List API keys")
async def list_api_keys(principal: Admin, page: Paging, conn: Connection) -> dict[str, Any]:
    rows = await service.list_keys(conn, principal, page)
    return page_out([dict(r) for r in rows], page)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(
    key_id: uuid.UUID,
    principal: Admin,
    conn: Transaction,
    after_commit: AfterCommitJobs,
    principal_cache: PrincipalCache,
) -> Response:
    await service.revoke_key(conn, principal, key_id)

    async def forget_cached_keys() -> None:
        # After the commit, so no request re-caches the key in between. Other replicas forget
        # within LGCP_AUTH_CACHE_SECONDS.
        principal_cache.clear()

    after_commit.add(forget_cached_keys)
    return Response(status_code=204)


@router.get("/audit-log", response_model=PageOut[AuditEntryOut], summary="Who changed what")
async def audit_log(principal: Admin, page: Paging, conn: Connection) -> dict[str, Any]:
    rows = await service.audit_page(conn, principal, page)
    return page_out([dict(r) for r in rows], page)
