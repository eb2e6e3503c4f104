"""Metrics endpoints: the series of a deployment or one revision, and the listener's report.
The control plane never reads the data plane: what is served is what the listener shipped."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from ..auth.principal import Principal, require
from ..auth.roles import LISTENER, READ
from ..http.deps import Connection, Transaction
from . import service
from .schemas import MetricsIn, MetricsOut

Reader = Annotated[Principal, Depends(require(READ))]
ListenerPrincipal = Annotated[Principal, Depends(require(LISTENER, "may not report metrics: only listener keys may"))]
Since = Annotated[dt.datetime | None, Query(description="inclusive, ISO 8601 with a timezone; default: until - 1 h")]
Until = Annotated[dt.datetime | None, Query(description="exclusive, ISO 8601 with a timezone; default: now")]
Step = Annotated[
    int | None,
    Query(
        ge=10,
        le=86400,
        description="seconds per point; rounded up to what is stored for the range (10 s buckets for the "
        "last hour, 1 min ones for the last day); default: the finest that gives at most 1500 points",
    ),
]

router = APIRouter(prefix="/deployments", tags=["metrics"])
listener_router = APIRouter(prefix="/listener-api", tags=["listener-api"])

_DESCRIPTION = (
    "Each figure the listener gathers (replicas, restarts, pod CPU and memory, the agent's HTTP "
    "requests, errors and latency, its queued and running runs) as a series over the range, with the "
    "revisions that started in it. Kept: 10 s points for an hour, 1 min points for a day."
)


async def _range(since: Since = None, until: Until = None, step: Step = None) -> service.Asked:
    return service.Asked(since, until, step)


AskedRange = Annotated[service.Asked, Depends(_range)]


@router.get(
    "/{deployment_id}/metrics",
    response_model=MetricsOut,
    summary="Metrics of a deployment: its revisions added up",
    description=_DESCRIPTION,
)
async def deployment_metrics(
    deployment_id: uuid.UUID, principal: Reader, conn: Connection, asked: AskedRange
) -> MetricsOut:
    return await service.read(conn, principal.tenant_id, deployment_id, None, asked)


@router.get(
    "/{deployment_id}/revisions/{revision_id}/metrics",
    response_model=MetricsOut,
    summary="Metrics of one revision of a deployment",
    description=_DESCRIPTION,
)
async def revision_metrics(
    deployment_id: uuid.UUID, revision_id: uuid.UUID, principal: Reader, conn: Connection, asked: AskedRange
) -> MetricsOut:
    return await service.read(conn, principal.tenant_id, deployment_id, revision_id, asked)


@listener_router.post(
    "/deployments/{deployment_id}/metrics",
    status_code=204,
    summary="Report the figures measured for a deployment's revisions since the last report",
)
async def report_metrics(
    deployment_id: uuid.UUID, body: MetricsIn, principal: ListenerPrincipal, conn: Transaction
) -> Response:
    await service.store(conn, principal.tenant_id, deployment_id, body)
    return Response(status_code=204)
