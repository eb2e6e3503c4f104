"""Desired state for a listener, and the listener's reports about deployments."""

from __future__ import annotations

import uuid

import asyncpg

from ..auth.principal import Principal
from ..deployments import service as deployments
from ..deployments.schemas import DeploymentStatus
from ..http.errors import conflict, field_error
from ..listeners import service as listeners
from ..secret_box import SecretBox

_LISTENER_SETTABLE = frozenset({
    DeploymentStatus.AWAITING_DATABASE, DeploymentStatus.READY, DeploymentStatus.UNUSED,
    DeploymentStatus.UNKNOWN,
})


async def desired_state(
    conn: asyncpg.Connection, box: SecretBox, principal: Principal, listener_id: uuid.UUID,
    deployment_ids: list[uuid.UUID] | None = None,
) -> dict:
    """Every deployment of the listener with its latest revision and decrypted secrets, or only
    those of `deployment_ids` (the ones a notification named; ids it no longer has are absent)."""
    await listeners.get(conn, principal.tenant_id, listener_id)
    rows = await conn.fetch(
        f"""
        SELECT {deployments.COLUMNS}, r.id AS revision_id, r.status AS revision_status,
               r.source_revision_config AS revision_source, r.resource_spec AS revision_resources,
               r.secrets_ciphertext, r.created_at AS revision_created_at
        FROM deployments d JOIN revisions r ON r.id = d.latest_revision_id
        WHERE d.listener_id = $1 AND d.tenant_id = $2 AND ($3::uuid[] IS NULL OR d.id = ANY($3))
        ORDER BY d.created_at, d.id
        """,
        listener_id, principal.tenant_id, deployment_ids,
    )
    items = []
    for row in rows:
        public = deployments.to_out(row).model_dump(mode="json")
        items.append({
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
        })
    return {"listener_id": listener_id, "deployments": items}


async def report_deployment_status(
    conn: asyncpg.Connection, principal: Principal, deployment_id: uuid.UUID,
    status: DeploymentStatus, message: str | None,
) -> asyncpg.Record:
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
    return await conn.fetchrow(
        f"UPDATE deployments AS d SET status = $2, status_message = $3, version = version + 1, "
        f"updated_at = now() WHERE id = $1 RETURNING {deployments.COLUMNS}",
        deployment_id, status.value, message,
    )


async def forget_deleted(
    conn: asyncpg.Connection, principal: Principal, deployment_id: uuid.UUID
) -> None:
    """The listener removed everything of a deployment in AWAITING_DELETE: drop its rows."""
    current = await deployments.get(conn, principal.tenant_id, deployment_id, lock=True)
    if current["status"] != DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment was not deleted; refusing to forget it")
    await deployments.forget(conn, principal, deployment_id)
