"""/v2/deployments/{id}/revisions: history, new revisions, rollback and logs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..auth.principal import Principal, require
from ..auth.roles import DEPLOY, READ
from ..http import idempotency
from ..http.dependencies import IdempotencyKey, app_state
from ..http.paging import Page, PageOut, page_out, page_params
from . import service
from .schemas import RevisionCreate, RevisionEventOut, RevisionOut

router = APIRouter(prefix="/deployments/{deployment_id}/revisions", tags=["revisions"])


async def _idempotent_create(request, principal, key, body_json, state, work) -> JSONResponse:
    """Runs `work(conn)` (which returns (revision, deployment)) once per Idempotency-Key."""

    async def run(conn):
        revision, deployment = await work(conn)
        return service.to_out(revision).model_dump(mode="json"), deployment

    replayed, outcome = await idempotency.run_once(
        state.pool, state.secret_key, principal.api_key_id, key, request.url.path, body_json, run
    )
    if replayed is not None:
        return replayed
    answer, deployment = outcome
    await state.notifier.notify(deployment["listener_id"], deployment["id"], "revision")
    return JSONResponse(answer, status_code=201)


@router.get("", response_model=PageOut[RevisionOut], summary="List revisions, newest first")
async def list_revisions(
    deployment_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(READ))],
    page: Annotated[Page, Depends(page_params)],
    state=Depends(app_state),
) -> dict:
    async with state.pool.acquire() as conn:
        rows = await service.list_page(conn, principal.tenant_id, deployment_id, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.post("", status_code=201, response_model=RevisionOut, summary="Create a revision")
async def create_revision(
    request: Request,
    deployment_id: uuid.UUID,
    body: RevisionCreate,
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    idempotency_key: IdempotencyKey = None,
    state=Depends(app_state),
) -> JSONResponse:
    return await _idempotent_create(
        request, principal, idempotency_key, body.model_dump(mode="json"), state,
        lambda conn: service.create(conn, state.secret_box, principal, deployment_id, body),
    )


@router.get("/{revision_id}", response_model=RevisionOut, summary="Get a revision")
async def get_revision(
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(READ))],
    state=Depends(app_state),
) -> RevisionOut:
    async with state.pool.acquire() as conn:
        row = await service.get(conn, principal.tenant_id, deployment_id, revision_id)
    return service.to_out(row)


@router.post(
    "/{revision_id}/redeploy", status_code=201, response_model=RevisionOut,
    summary="Roll back: a new revision with this revision's content",
)
async def redeploy_revision(
    request: Request,
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    idempotency_key: IdempotencyKey = None,
    state=Depends(app_state),
) -> JSONResponse:
    return await _idempotent_create(
        request, principal, idempotency_key, None, state,
        lambda conn: service.redeploy(conn, principal, deployment_id, revision_id),
    )


@router.get(
    "/{revision_id}/logs", response_model=PageOut[RevisionEventOut],
    summary="The listener's deploy events and Kubernetes events of a revision",
)
async def revision_logs(
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(READ))],
    page: Annotated[Page, Depends(page_params)],
    state=Depends(app_state),
) -> dict:
    async with state.pool.acquire() as conn:
        rows = await service.logs_page(conn, principal.tenant_id, deployment_id, revision_id, page)
    return page_out([dict(r) for r in rows], page)
