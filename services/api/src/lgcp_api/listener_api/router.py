"""/v2/listener-api: what the data-plane listener reads and reports (docs/interfaces.md)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from ..auth.principal import Principal, require
from ..auth.roles import LISTENER
from ..deployments import service as deployments
from ..deployments.schemas import DeploymentOut
from ..http.deps import AfterCommitJobs, Box, Connection, Transaction
from ..listeners import service as listeners
from ..listeners.contact import ListenerContact
from ..listeners.schemas import ListenerOut
from ..logs import service as logs
from ..manifests import service as manifests
from ..manifests.schemas import ManifestsIn
from ..revisions import service as revisions
from ..revisions.schemas import RevisionOut
from . import service
from .schemas import DeploymentStatusIn, DesiredState, RegisterIn, RevisionStatusIn

router = APIRouter(prefix="/listener-api", tags=["listener-api"])
MAX_DESIRED_IDS = 100  # per partial read: ~5 KB of URL, under proxies' 8 KB line limits
ListenerPrincipal = Annotated[
    Principal,
    Depends(
        require(
            LISTENER,
            "may not call the listener API: it answers decrypted secrets, so only keys with the "
            "listener role may (the API bootstraps one from LGCP_LISTENER_API_KEY)",
        )
    ),
]


@router.post("/register", response_model=ListenerOut, summary="Register this listener (idempotent)")
async def register(body: RegisterIn, principal: ListenerPrincipal, conn: Transaction) -> ListenerOut:
    return listeners.to_out(
        await listeners.register(conn, principal, body.compute_id, body.k8s_namespaces, body.data_store)
    )


@router.get(
    "/listeners/{listener_id}/desired-state",
    response_model=DesiredState,
    summary="Every deployment the listener should run, with decrypted secrets",
)
async def desired_state(
    listener_id: uuid.UUID,
    principal: ListenerPrincipal,
    conn: Connection,
    box: Box,
    contact: ListenerContact,
    deployment_id: Annotated[
        list[uuid.UUID] | None,
        Query(
            max_length=MAX_DESIRED_IDS,
            description="only these deployments (repeat the parameter); absent ones no longer exist",
        ),
    ] = None,
) -> dict[str, Any]:
    answer = await service.desired_state(conn, box, principal, listener_id, deployment_id)
    await contact.seen(conn, principal.tenant_id, listener_id)
    return answer


@router.post(
    "/revisions/{revision_id}/status",
    response_model=RevisionOut,
    summary="Report a revision's progress (409 on an illegal move)",
)
async def revision_status(
    revision_id: uuid.UUID, body: RevisionStatusIn, principal: ListenerPrincipal, conn: Transaction
) -> RevisionOut:
    row = await revisions.report_status(conn, principal, revision_id, body.status, body.message, body.events)
    # The same report is the listener's steps in `deploy logs` (one transaction: both or neither).
    await logs.record_steps(conn, row["deployment_id"], revision_id, body.events)
    return revisions.to_out(row)


@router.post(
    "/deployments/{deployment_id}/status", response_model=DeploymentOut, summary="Report a deployment's status"
)
async def deployment_status(
    deployment_id: uuid.UUID,
    body: DeploymentStatusIn,
    principal: ListenerPrincipal,
    conn: Transaction,
    after_commit: AfterCommitJobs,
    contact: ListenerContact,
) -> DeploymentOut:
    row = await service.report_deployment_status(conn, principal, deployment_id, body.status, body.message)
    # After the commit, outside the report's transaction (the connection is still this request's).
    after_commit.add(partial(contact.seen, conn, principal.tenant_id, row["listener_id"]))
    return deployments.to_out(row)


@router.post(
    "/deployments/{deployment_id}/deleted",
    status_code=204,
    summary="The listener removed a deleted deployment's objects; forget it",
)
async def deployment_deleted(deployment_id: uuid.UUID, principal: ListenerPrincipal, conn: Transaction) -> Response:
    await service.forget_deleted(conn, principal, deployment_id)
    return Response(status_code=204)


@router.put(
    "/deployments/{deployment_id}/manifests",
    status_code=204,
    summary="Report the objects about to be applied (every Secret value redacted)",
)
async def deployment_manifests(
    deployment_id: uuid.UUID, body: ManifestsIn, principal: ListenerPrincipal, conn: Transaction
) -> Response:
    await manifests.store(conn, principal.tenant_id, deployment_id, body.revision_id, body.manifests)
    return Response(status_code=204)
