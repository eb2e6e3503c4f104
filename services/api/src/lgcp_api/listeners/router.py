"""/v2/listeners: the data planes that run deployments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ..auth.principal import Principal, require
from ..auth.roles import ADMIN, READ
from ..http import idempotency
from ..http.dependencies import IdempotencyKey, IfMatch, app_state
from ..http.etags import etag
from ..http.paging import Page, PageOut, page_out, page_params
from . import service
from .schemas import ListenerCreate, ListenerOut, ListenerPatch

router = APIRouter(prefix="/listeners", tags=["listeners"])


def _answer(row, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        service.to_out(row).model_dump(mode="json"), status_code=status_code,
        headers={"ETag": etag(row["version"])},
    )


@router.post("", status_code=201, response_model=ListenerOut, summary="Create a listener")
async def create_listener(
    request: Request,
    body: ListenerCreate,
    principal: Annotated[Principal, Depends(require(ADMIN))],
    idempotency_key: IdempotencyKey = None,
    state=Depends(app_state),
) -> JSONResponse:
    async def work(conn):
        row = await service.create(conn, principal, body)
        return service.to_out(row).model_dump(mode="json"), row

    replayed, outcome = await idempotency.run_once(
        state.pool, state.secret_key, principal.api_key_id, idempotency_key, request.url.path,
        body.model_dump(mode="json"), work,
    )
    if replayed is not None:
        return replayed
    _, row = outcome
    return _answer(row, 201)


@router.get("", response_model=PageOut[ListenerOut], summary="List listeners")
async def list_listeners(
    principal: Annotated[Principal, Depends(require(READ))],
    page: Annotated[Page, Depends(page_params)],
    state=Depends(app_state),
) -> dict:
    async with state.pool.acquire() as conn:
        rows = await service.list_page(conn, principal.tenant_id, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.get("/{listener_id}", response_model=ListenerOut, summary="Get a listener")
async def get_listener(
    listener_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(READ))],
    state=Depends(app_state),
) -> JSONResponse:
    async with state.pool.acquire() as conn:
        row = await service.get(conn, principal.tenant_id, listener_id)
    return _answer(row)


@router.patch(
    "/{listener_id}", response_model=ListenerOut, summary="Update a listener",
    responses={412: {"description": "If-Match does not match"}},
)
async def patch_listener(
    listener_id: uuid.UUID,
    body: ListenerPatch,
    principal: Annotated[Principal, Depends(require(ADMIN))],
    if_match: IfMatch = None,
    state=Depends(app_state),
) -> JSONResponse:
    async with state.pool.acquire() as conn, conn.transaction():
        row = await service.update(conn, principal, listener_id, body, if_match)
    return _answer(row)


@router.delete(
    "/{listener_id}", status_code=204, summary="Delete a listener without deployments",
    responses={412: {"description": "If-Match does not match"}},
)
async def delete_listener(
    listener_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(ADMIN))],
    if_match: IfMatch = None,
    state=Depends(app_state),
) -> Response:
    async with state.pool.acquire() as conn, conn.transaction():
        await service.delete(conn, principal, listener_id, if_match)
    return Response(status_code=204)
