"""/v2/deployments/{id}/manifests: what the listener applies for a deployment (Secret values redacted)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ..auth.principal import Principal, require
from ..auth.roles import READ
from ..http.deps import Connection
from . import service
from .schemas import ManifestsOut

router = APIRouter(prefix="/deployments/{deployment_id}/manifests", tags=["deployments"])


@router.get(
    "",
    response_model=ManifestsOut,
    summary="The objects the listener last rendered for this deployment (Secret values redacted)",
    responses={404: {"description": "no such deployment, or the listener has not rendered it yet"}},
)
async def get_manifests(
    deployment_id: uuid.UUID, principal: Annotated[Principal, Depends(require(READ))], conn: Connection
) -> dict[str, Any]:
    return await service.get(conn, principal.tenant_id, deployment_id)
