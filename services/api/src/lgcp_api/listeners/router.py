"""/v2/listeners: the data planes that run deployments."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from ..auth.principal import Principal, require
from ..auth.roles import ADMIN, READ
from ..core.database import Conn
from ..http.deps import Connection, IfMatch, Transaction
from ..http.etags import etag
from ..http.paging import Page, PageOut, page_out, page_params
from ..idempotency.service import CreateOnce
from . import repository, service
from .schemas import ListenerCreate, ListenerOut, ListenerPatch

router = APIRouter(prefix="/listeners", tags=["listeners"])
Admin = Annotated[Principal, Depends(require(ADMIN))]
Reader = Annotated[Principal, Depends(require(READ))]


def _answer(row: asyncpg.Record, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        service.to_out(row).model_dump(mode="json"), status_code=status_code, headers={"ETag": etag(row["version"])}
    )


@router.post("", status_code=201, response_model=ListenerOut, summary="Create a listener")
async def create_listener(body: ListenerCreate, principal: Admin, create: CreateOnce) -> JSONResponse:
    async def work(conn: Conn) -> tuple[object, asyncpg.Record]:
        row = await service.create(conn, principal, body)
        return service.to_out(row).model_dump(mode="json"), row

    outcome = await create.run(principal, body.model_dump(mode="json"), work)
    if isinstance(outcome, JSONResponse):
        return outcome  # a retry: the first answer again
    _, row = outcome
    return _answer(row, 201)


@router.get("", response_model=PageOut[ListenerOut], summary="List listeners")
async def list_listeners(
    principal: Reader, page: Annotated[Page, Depends(page_params)], conn: Connection
) -> dict[str, Any]:
    rows = await repository.list_page(conn, principal.tenant_id, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.get("/{listener_id}", response_model=ListenerOut, summary="Get a listener")
async def get_listener(listener_id: uuid.UUID, principal: Reader, conn: Connection) -> JSONResponse:
    return _answer(await repository.get(conn, principal.tenant_id, listener_id))


@router.patch(
    "/{listener_id}",
    response_model=ListenerOut,
    summary="Update a listener",
    responses={412: {"description": "If-Match does not match"}},
)
async def patch_listener(
    listener_id: uuid.UUID, body: ListenerPatch, principal: Admin, conn: Transaction, if_match: IfMatch = None
) -> JSONResponse:
    return _answer(await service.update(conn, principal, listener_id, body, if_match))


@router.delete(
    "/{listener_id}",
    status_code=204,
    summary="Delete a listener without deployments",
    responses={412: {"description": "If-Match does not match"}},
)
async def delete_listener(
    listener_id: uuid.UUID, principal: Admin, conn: Transaction, if_match: IfMatch = None
) -> Response:
    await service.delete(conn, principal, listener_id, if_match)
    return Response(status_code=204)
