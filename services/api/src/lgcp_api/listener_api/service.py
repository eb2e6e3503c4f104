"""Desired state for a listener, and the listener's reports about deployments."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from lgcp_contract.statuses import DeploymentStatus

from ..auth.principal import Principal
from ..core.database import Conn
from ..core.secret_box import SecretBox
from ..deployments import repository as deployments
from ..deployments import service as deployment_rules
from ..http.errors import conflict, field_error
from ..listeners import repository as listeners

_LISTENER_SETTABLE = frozenset(
    {
        DeploymentStatus.AWAITING_DATABASE,
        DeploymentStatus.READY,
        DeploymentStatus.UNUSED,
        DeploymentStatus.UNKNOWN,
    }
)


async def desired_state(
    conn: Conn,
    box: SecretBox,
    principal: Principal,
    listener_id: uuid.UUID,
    deployment_ids: list[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Every deployment of the listener with its latest revision and decrypted secrets, or only
    those of `deployment_ids` (the ones a notification named; ids it no longer has are absent)."""
    await listeners.get(conn, principal.tenant_id, listener_id)
    rows = await deployments.with_latest_revision(conn, listener_id, principal.tenant_id, deployment_ids)
    items = []
    for row in rows:
        public = deployment_rules.to_out(row).model_dump(mode="json")
        items.append(
            {
                **public,
                "namespace": row["source_config"]["listener_config"]["k8s_namespace"],
                "secrets": box.open(row["secrets_ciphertext"]),
                "revision": {
                    "id": row["revision_id"],
                    "image_uri": row["revision_source"]["image_uri"],
                    "status": row["revision_status"],
                    "resource_spec": row["revision_resources"],
                    "created_at": row["revision_created_at"],
                },
                "deleting": row["status"] == DeploymentStatus.AWAITING_DELETE,
            }
        )
    return {"listener_id": listener_id, "deployments": items}


async def report_deployment_status(
    conn: Conn,
    principal: Principal,
    deployment_id: uuid.UUID,
    status: DeploymentStatus,
    message: str | None,
) -> asyncpg.Record:
    """Sets the deployment's status as the listener sees it; a repeat of the current status and
    message changes nothing (not even the ETag)."""
    if status not in _LISTENER_SETTABLE:
        raise field_error(
            ("body", "status"),
            f"a listener may set only {', '.join(sorted(s.value for s in _LISTENER_SETTABLE))}",
        )
    current = await deployments.get(conn, principal.tenant_id, deployment_id, lock=True)
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    if current["status"] == status and current["status_message"] == message:
        return current
    return await deployments.set_status(conn, deployment_id, status, message)


async def forget_deleted(conn: Conn, principal: Principal, deployment_id: uuid.UUID) -> None:
    """The listener removed everything of a deployment in AWAITING_DELETE: drop its rows."""
    current = await deployments.get(conn, principal.tenant_id, deployment_id, lock=True)
    if current["status"] != DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment was not deleted; refusing to forget it")
    await deployment_rules.forget(conn, principal, deployment_id)
