"""Storing the listener's latest rendering of a deployment and reading it back."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import HTTPException, status

from ..core.database import Conn
from ..deployments import repository as deployments
from ..http.errors import field_error, not_found
from . import repository
from .schemas import check_manifests

NOT_RENDERED = "not rendered yet: the listener has not picked this deployment up"


async def store(
    conn: Conn,
    tenant_id: uuid.UUID,
    deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
    manifests: list[Any],
) -> None:
    """Replaces the deployment's preview; 404 for another tenant's deployment, 422 for a revision
    of another deployment or a manifest that breaks the rules of `check_manifests`."""
    await deployments.get(conn, tenant_id, deployment_id)
    check_manifests(manifests)
    if not await repository.revision_belongs(conn, deployment_id, revision_id):
        raise field_error(("body", "revision_id"), "is not a revision of this deployment")
    try:
        await repository.replace(conn, deployment_id, revision_id, manifests)
    except asyncpg.ForeignKeyViolationError:
        raise not_found("deployment") from None  # deleted since the check above
    except asyncpg.UntranslatableCharacterError:
        # jsonb cannot hold U+0000; no Kubernetes object field can either.
        raise field_error(("body", "manifests"), "must not contain the NUL character") from None


async def get(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID) -> dict[str, Any]:
    """The deployment's latest preview; 404 for a missing deployment, or one not rendered yet."""
    await deployments.get(conn, tenant_id, deployment_id)
    row = await repository.find(conn, deployment_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_RENDERED)
    return dict(row)
