"""/v2/deployments/{id}/revisions: history, new revisions, rollback and logs; and /v2/revisions,
revisions of several deployments in one read."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from ..auth.principal import Principal, require
from ..auth.roles import DEPLOY, READ
from ..core.database import Conn
from ..http.deps import (
    AfterCommitJobs,
    Box,
    Connection,
    ListenerNotifier,
    Transaction,
)
from ..http.errors import field_error
from ..http.paging import Page, PageOut, page_out, page_params
from ..http.query import parse_ids
from ..idempotency.service import CreateOnce, DeploymentWork
from . import service
from .schemas import RevisionCreate, RevisionEventOut, RevisionOut, RevisionsOut

router = APIRouter(prefix="/deployments/{deployment_id}/revisions", tags=["revisions"])
batch_router = APIRouter(prefix="/revisions", tags=["revisions"])
Deployer = Annotated[Principal, Depends(require(DEPLOY))]
Reader = Annotated[Principal, Depends(require(READ))]
Paging = Annotated[Page, Depends(page_params)]
MAX_BATCH_IDS = 100
RevisionWork = Callable[[Conn], Awaitable[tuple[asyncpg.Record, asyncpg.Record]]]


def _revision_work(work: RevisionWork) -> DeploymentWork:
    """`work` (which returns the revision and its deployment) answering the revision."""

    async def answered(conn: Conn) -> tuple[object, asyncpg.Record]:
        revision, deployment = await work(conn)
        return service.to_out(revision).model_dump(mode="json"), deployment

    return answered


@router.get("", response_model=PageOut[RevisionOut], summary="List revisions, newest first")
async def list_revisions(deployment_id: uuid.UUID, principal: Reader, page: Paging, conn: Connection) -> dict[str, Any]:
    rows = await service.list_page(conn, principal.tenant_id, deployment_id, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.post("", status_code=201, response_model=RevisionOut, summary="Create a revision")
async def create_revision(
    deployment_id: uuid.UUID, body: RevisionCreate, principal: Deployer, box: Box, create: CreateOnce
) -> JSONResponse:
    work = _revision_work(lambda conn: service.create(conn, box, principal, deployment_id, body))
    return await create.deployment_change(
        principal, body.model_dump(mode="json"), work, "revision", answer_is_deployment=False
    )


@router.get("/{revision_id}", response_model=RevisionOut, summary="Get a revision")
async def get_revision(
    deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Reader, conn: Connection
) -> RevisionOut:
    return service.to_out(await service.get(conn, principal.tenant_id, deployment_id, revision_id))


@router.post(
    "/{revision_id}/redeploy",
    status_code=201,
    response_model=RevisionOut,
    summary="Roll back: a new revision with this revision's content",
)
async def redeploy_revision(
    deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Deployer, create: CreateOnce
) -> JSONResponse:
    work = _revision_work(lambda conn: service.redeploy(conn, principal, deployment_id, revision_id))
    return await create.deployment_change(principal, None, work, "revision", answer_is_deployment=False)


@router.post(
    "/{revision_id}/interrupt",
    response_model=RevisionOut,
    summary="Stop a revision still rolling out; the active revision is restored (409 once finished)",
)
async def interrupt_revision(
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    principal: Deployer,
    conn: Transaction,
    after_commit: AfterCommitJobs,
    notifier: ListenerNotifier,
) -> RevisionOut:
    revision, deployment = await service.interrupt(conn, principal, deployment_id, revision_id)
    after_commit.add(partial(notifier.notify, deployment["listener_id"], deployment["id"], "revision"))
    return service.to_out(revision)


@router.get(
    "/{revision_id}/logs",
    response_model=PageOut[RevisionEventOut],
    summary="The listener's deploy events and Kubernetes events of a revision",
)
async def revision_logs(
    deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Reader, page: Paging, conn: Connection
) -> dict[str, Any]:
    rows = await service.logs_page(conn, principal.tenant_id, deployment_id, revision_id, page)
    return page_out([dict(r) for r in rows], page)


@batch_router.get(
    "",
    response_model=RevisionsOut,
    summary="Revisions of any deployments by id, in one read (unknown ids are left out)",
)
async def get_revisions(
    principal: Reader,
    conn: Connection,
    revision_ids: Annotated[list[str], Query(description=f"1..{MAX_BATCH_IDS} ids, repeated or comma-separated")],
) -> dict[str, Any]:
    ids = parse_ids(revision_ids, ("query", "revision_ids"))
    if not ids or len(ids) > MAX_BATCH_IDS:
        raise field_error(("query", "revision_ids"), f"give 1..{MAX_BATCH_IDS} revision ids")
    rows = await service.get_many(conn, principal.tenant_id, ids)
    return {"resources": [service.to_out(r) for r in rows]}
