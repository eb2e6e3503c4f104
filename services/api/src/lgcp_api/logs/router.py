"""Logs endpoints: the v1 paths langgraph-cli calls (`deploy logs`), their v2 twins, and the
listener's report. The control plane never reads the data plane: what is served is what the
listener shipped."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from ..auth.principal import Principal, require
from ..auth.roles import LISTENER, READ
from ..http.deps import Connection, Transaction
from . import service
from .schemas import LogsIn, LogsOut, LogsQuery

Reader = Annotated[Principal, Depends(require(READ))]
ListenerPrincipal = Annotated[Principal, Depends(require(LISTENER, "may not report logs: only listener keys may"))]
Query = Annotated[LogsQuery, Body(default_factory=LogsQuery)]

# /v1/projects/...: LangSmith's paths, kept as the CLI calls them ("project" is a deployment).
v1_router = APIRouter(prefix="/projects", tags=["logs"])
v2_router = APIRouter(prefix="/deployments", tags=["logs"])
listener_router = APIRouter(prefix="/listener-api", tags=["listener-api"])

_DEPLOY = "Runtime logs of a deployment: its containers, Kubernetes events and the listener's steps"
_REVISION = "Runtime logs of one revision of a deployment"


@v1_router.post("/{deployment_id}/deploy_logs", response_model=LogsOut, summary=_DEPLOY)
@v2_router.post("/{deployment_id}/logs", response_model=LogsOut, summary=_DEPLOY)
async def deploy_logs(deployment_id: uuid.UUID, principal: Reader, conn: Connection, query: Query) -> LogsOut:
    return await service.read(conn, principal.tenant_id, deployment_id, None, query)


@v1_router.post("/{deployment_id}/revisions/{revision_id}/deploy_logs", response_model=LogsOut, summary=_REVISION)
@v2_router.post("/{deployment_id}/revisions/{revision_id}/logs", response_model=LogsOut, summary=_REVISION)
async def revision_logs(
    deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Reader, conn: Connection, query: Query
) -> LogsOut:
    return await service.read(conn, principal.tenant_id, deployment_id, revision_id, query)


@v1_router.post(
    "/{deployment_id}/revisions/{revision_id}/build_logs",
    response_model=LogsOut,
    summary="No builds here: one entry saying that this control plane deploys prebuilt images",
)
async def build_logs(deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Reader, conn: Connection) -> LogsOut:
    return await service.build_logs(conn, principal.tenant_id, deployment_id, revision_id)


@listener_router.post(
    "/deployments/{deployment_id}/logs",
    status_code=204,
    summary="Report runtime log lines and events read since the last report (secret values redacted)",
)
async def report_logs(
    deployment_id: uuid.UUID, body: LogsIn, principal: ListenerPrincipal, conn: Transaction
) -> Response:
    await service.store(conn, principal.tenant_id, deployment_id, body)
    return Response(status_code=204)
