"""/v2/deployments: the LangSmith-compatible deployment endpoints."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from lgcp_contract.statuses import DeploymentStatus

from ..auth.principal import Principal, require
from ..auth.roles import ADMIN, DEPLOY, READ, Role
from ..core.database import Conn
from ..http.deps import (
    AfterCommitJobs,
    Box,
    Connection,
    IfMatch,
    ListenerNotifier,
    Transaction,
)
from ..http.errors import field_error
from ..http.etags import etag
from ..http.paging import Page, PageOut, page_out, page_params
from ..http.query import parse_ids
from ..idempotency.service import CreateOnce
from . import move, repository, service
from .move_schemas import DeploymentMove, DeploymentMoveOut
from .schemas import BulkDeleteOut, DeploymentCreate, DeploymentOut, DeploymentPatch

router = APIRouter(prefix="/deployments", tags=["deployments"])
Deployer = Annotated[Principal, Depends(require(DEPLOY))]
Reader = Annotated[Principal, Depends(require(READ))]
Admin = Annotated[Principal, Depends(require(ADMIN))]
MAX_BULK_DELETE = 100
_IDS_LOC = ("query", "deployment_ids")


def _answer(row: asyncpg.Record, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        service.to_out(row).model_dump(mode="json"), status_code=status_code, headers={"ETag": etag(row["version"])}
    )


@router.post("", status_code=201, response_model=DeploymentOut, summary="Create a deployment")
async def create_deployment(body: DeploymentCreate, principal: Deployer, box: Box, create: CreateOnce) -> JSONResponse:
    async def work(conn: Conn) -> tuple[object, asyncpg.Record]:
        row = await service.create(conn, box, principal, body)
        return service.to_out(row).model_dump(mode="json"), row

    body_json = body.model_dump(mode="json")
    return await create.deployment_change(principal, body_json, work, "created", answer_is_deployment=True)


@router.get("", response_model=PageOut[DeploymentOut], summary="List deployments")
async def list_deployments(
    principal: Reader,
    page: Annotated[Page, Depends(page_params)],
    conn: Connection,
    name: Annotated[str | None, Query(max_length=63)] = None,
    name_contains: Annotated[str | None, Query(max_length=63)] = None,
    status_: Annotated[list[DeploymentStatus] | None, Query(alias="status")] = None,
    deployment_ids: Annotated[list[str] | None, Query(description="ids, repeated or comma-separated")] = None,
    image_version: Annotated[str | None, Query(max_length=256)] = None,
) -> dict[str, Any]:
    filters = repository.ListFilters(
        name=name,
        name_contains=name_contains,
        statuses=[s.value for s in status_] if status_ else None,
        deployment_ids=parse_ids(deployment_ids, _IDS_LOC) if deployment_ids is not None else None,
        image_version=image_version,
    )
    rows = await repository.list_page(conn, principal.tenant_id, filters, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.get("/{deployment_id}", response_model=DeploymentOut, summary="Get a deployment")
async def get_deployment(deployment_id: uuid.UUID, principal: Reader, conn: Connection) -> JSONResponse:
    return _answer(await repository.get(conn, principal.tenant_id, deployment_id))


@router.patch(
    "/{deployment_id}",
    response_model=DeploymentOut,
    summary="Update a deployment",
    responses={412: {"description": "If-Match does not match"}},
)
async def patch_deployment(
    deployment_id: uuid.UUID,
    body: DeploymentPatch,
    principal: Deployer,
    conn: Transaction,
    after_commit: AfterCommitJobs,
    box: Box,
    notifier: ListenerNotifier,
    if_match: IfMatch = None,
) -> JSONResponse:
    row, new_revision = await service.update(conn, box, principal, deployment_id, body, if_match)
    change = "revision" if new_revision else "updated"
    after_commit.add(partial(notifier.notify, row["listener_id"], row["id"], change))
    return _answer(row)


@router.post(
    "/{deployment_id}/move",
    response_model=DeploymentMoveOut,
    summary="Move a deployment to another listener (admin; an extension of LangSmith's API)",
    responses={
        409: {"description": "the listeners keep databases apart and allow_new_databases is not set, or deleting"},
        412: {"description": "If-Match does not match"},
    },
)
async def move_deployment(
    deployment_id: uuid.UUID,
    body: DeploymentMove,
    principal: Admin,
    box: Box,
    create: CreateOnce,
    if_match: IfMatch = None,
) -> JSONResponse:
    async def work(conn: Conn) -> tuple[object, move.Moved]:
        moved = await move.move(conn, box, principal, deployment_id, body, if_match)
        answer = DeploymentMoveOut(
            deployment=service.to_out(moved.row),
            databases="kept" if moved.databases_kept else "new",
            warning=moved.warning,
        )
        return answer.model_dump(mode="json"), moved

    # With an Idempotency-Key a retry (the answer was lost) gets the first answer again; without,
    # a repeat finds the deployment already there and answers 400.
    outcome = await create.run(principal, body.model_dump(mode="json"), work, status_code=200)
    if isinstance(outcome, JSONResponse):
        return outcome
    answer, moved = outcome
    row = moved.row
    # The old listener drops the deployment's objects (keeping its data); the new one rolls it out.
    create.after_commit.add(partial(create.notifier.notify, moved.from_listener_id, row["id"], "moved"))
    create.after_commit.add(partial(create.notifier.notify, row["listener_id"], row["id"], "revision"))
    return JSONResponse(answer, headers={"ETag": etag(row["version"])})


@router.delete(
    "/{deployment_id}",
    status_code=204,
    summary="Delete a deployment",
    responses={412: {"description": "If-Match does not match"}},
)
async def delete_deployment(
    deployment_id: uuid.UUID,
    principal: Deployer,
    conn: Transaction,
    after_commit: AfterCommitJobs,
    notifier: ListenerNotifier,
    if_match: IfMatch = None,
    force: Annotated[
        bool,
        Query(
            description="admin only: forget the deployment now, without waiting for its "
            "listener (for a listener that is gone; a running listener then "
            "collects the orphaned objects)"
        ),
    ] = False,
) -> Response:
    if force and principal.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may force a deletion")
    row = await service.request_delete(conn, principal, deployment_id, if_match)
    if force:
        await service.forget(conn, principal, deployment_id)
    after_commit.add(partial(notifier.notify, row["listener_id"], row["id"], "deleted"))
    return Response(status_code=204)


@router.delete(
    "",
    response_model=BulkDeleteOut,
    summary="Delete several deployments",
    responses={207: {"model": BulkDeleteOut, "description": "some could not be deleted"}},
)
async def delete_deployments(
    principal: Deployer,
    deployment_ids: Annotated[list[str], Query(description="ids, repeated or comma-separated")],
    conn: Connection,
    notifier: ListenerNotifier,
) -> JSONResponse:
    ids = parse_ids(deployment_ids, _IDS_LOC)
    if not ids or len(ids) > MAX_BULK_DELETE:
        raise field_error(_IDS_LOC, f"give 1..{MAX_BULK_DELETE} deployment ids")
    results: list[dict[str, Any]] = []
    deleted: list[asyncpg.Record] = []
    for deployment_id in dict.fromkeys(ids):
        try:
            # One transaction per item: one failure must not undo the others.
            async with conn.transaction():
                row = await service.request_delete(conn, principal, deployment_id, None)
            results.append({"id": deployment_id, "status": 204, "detail": None})
            deleted.append(row)
        except HTTPException as exc:
            results.append({"id": deployment_id, "status": exc.status_code, "detail": exc.detail})
    for row in deleted:
        await notifier.notify(row["listener_id"], row["id"], "deleted")
    code = status.HTTP_200_OK if len(deleted) == len(results) else status.HTTP_207_MULTI_STATUS
    return JSONResponse(BulkDeleteOut.model_validate({"resources": results}).model_dump(mode="json"), status_code=code)
