"""/v2/deployments: the LangSmith-compatible deployment endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse

from ..auth.principal import Principal, require
from ..auth.roles import DEPLOY, READ, Role
from ..http import idempotency
from ..http.dependencies import IdempotencyKey, IfMatch, app_state
from ..http.errors import field_error
from ..http.etags import etag
from ..http.paging import Page, PageOut, page_out, page_params
from . import service
from .schemas import (
    BulkDeleteOut,
    DeploymentCreate,
    DeploymentOut,
    DeploymentPatch,
    DeploymentStatus,
)

router = APIRouter(prefix="/deployments", tags=["deployments"])


def _parse_ids(values: list[str] | None) -> list[uuid.UUID] | None:
    # Accepts repeated parameters and comma-separated lists alike.
    if values is None:
        return None
    ids = []
    for item in (p.strip() for v in values for p in v.split(",")):
        if not item:
            continue
        try:
            ids.append(uuid.UUID(item))
        except ValueError:
            raise field_error(("query", "deployment_ids"), f"{item!r} is not a UUID") from None
    return ids


def _answer(row, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        service.to_out(row).model_dump(mode="json"),
        status_code=status_code,
        headers={"ETag": etag(row["version"])},
    )


@router.post("", status_code=201, response_model=DeploymentOut, summary="Create a deployment")
async def create_deployment(
    request: Request,
    body: DeploymentCreate,
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    idempotency_key: IdempotencyKey = None,
    state=Depends(app_state),
) -> JSONResponse:
    async def work(conn):
        row = await service.create(conn, state.secret_box, principal, body)
        return service.to_out(row).model_dump(mode="json"), row

    replayed, outcome = await idempotency.run_once(
        state.pool, state.secret_key, principal.api_key_id, idempotency_key, request.url.path,
        body.model_dump(mode="json"), work,
    )
    if replayed is not None:
        return replayed
    answer, row = outcome
    await state.notifier.notify(row["listener_id"], row["id"], "created")
    return JSONResponse(answer, status_code=201, headers={"ETag": etag(row["version"])})


@router.get("", response_model=PageOut[DeploymentOut], summary="List deployments")
async def list_deployments(
    principal: Annotated[Principal, Depends(require(READ))],
    page: Annotated[Page, Depends(page_params)],
    name: Annotated[str | None, Query(max_length=63)] = None,
    name_contains: Annotated[str | None, Query(max_length=63)] = None,
    status_: Annotated[list[DeploymentStatus] | None, Query(alias="status")] = None,
    deployment_ids: Annotated[list[str] | None, Query(description="ids, repeated or comma-separated")] = None,
    image_version: Annotated[str | None, Query(max_length=256)] = None,
    state=Depends(app_state),
) -> dict:
    filters = service.ListFilters(
        name=name,
        name_contains=name_contains,
        statuses=[s.value for s in status_] if status_ else None,
        deployment_ids=_parse_ids(deployment_ids),
        image_version=image_version,
    )
    async with state.pool.acquire() as conn:
        rows = await service.list_page(conn, principal.tenant_id, filters, page)
    return page_out([service.to_out(r) for r in rows], page)


@router.get("/{deployment_id}", response_model=DeploymentOut, summary="Get a deployment")
async def get_deployment(
    deployment_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(READ))],
    state=Depends(app_state),
) -> JSONResponse:
    async with state.pool.acquire() as conn:
        row = await service.get(conn, principal.tenant_id, deployment_id)
    return _answer(row)


@router.patch(
    "/{deployment_id}", response_model=DeploymentOut, summary="Update a deployment",
    responses={412: {"description": "If-Match does not match"}},
)
async def patch_deployment(
    deployment_id: uuid.UUID,
    body: DeploymentPatch,
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    if_match: IfMatch = None,
    state=Depends(app_state),
) -> JSONResponse:
    async with state.pool.acquire() as conn, conn.transaction():
        row, new_revision = await service.update(
            conn, state.secret_box, principal, deployment_id, body, if_match
        )
    await state.notifier.notify(row["listener_id"], row["id"], "revision" if new_revision else "updated")
    return _answer(row)


@router.delete(
    "/{deployment_id}", status_code=204, summary="Delete a deployment",
    responses={412: {"description": "If-Match does not match"}},
)
async def delete_deployment(
    deployment_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    if_match: IfMatch = None,
    force: Annotated[
        bool,
        Query(description="admin only: forget the deployment now, without waiting for its "
                          "listener (for a listener that is gone; a running listener then "
                          "collects the orphaned objects)"),
    ] = False,
    state=Depends(app_state),
) -> Response:
    if force and principal.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may force a deletion")
    async with state.pool.acquire() as conn, conn.transaction():
        row = await service.request_delete(conn, principal, deployment_id, if_match)
        if force:
            await service.forget(conn, principal, deployment_id)
    await state.notifier.notify(row["listener_id"], row["id"], "deleted")
    return Response(status_code=204)


@router.delete(
    "", response_model=BulkDeleteOut, summary="Delete several deployments",
    responses={207: {"model": BulkDeleteOut, "description": "some could not be deleted"}},
)
async def delete_deployments(
    principal: Annotated[Principal, Depends(require(DEPLOY))],
    deployment_ids: Annotated[list[str], Query(description="ids, repeated or comma-separated")],
    state=Depends(app_state),
) -> JSONResponse:
    ids = _parse_ids(deployment_ids) or []
    if not ids or len(ids) > 100:
        raise field_error(("query", "deployment_ids"), "give 1..100 deployment ids")
    results, notify = [], []
    async with state.pool.acquire() as conn:
        for deployment_id in dict.fromkeys(ids):
            try:
                # One transaction per item: one failure must not undo the others.
                async with conn.transaction():
                    row = await service.request_delete(conn, principal, deployment_id, None)
                results.append({"id": deployment_id, "status": 204, "detail": None})
                notify.append(row)
            except HTTPException as exc:
                results.append({"id": deployment_id, "status": exc.status_code, "detail": exc.detail})
    for row in notify:
        await state.notifier.notify(row["listener_id"], row["id"], "deleted")
    code = status.HTTP_200_OK if len(notify) == len(results) else status.HTTP_207_MULTI_STATUS
    return JSONResponse(BulkDeleteOut(resources=results).model_dump(mode="json"), status_code=code)
