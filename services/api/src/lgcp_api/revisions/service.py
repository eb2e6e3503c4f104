"""Revision rows: listing, creating, redeploying, logs, and status reports from listeners."""

from __future__ import annotations

import uuid

import asyncpg

from .. import audit
from ..auth.principal import Principal
from ..deployments import service as deployments
from ..deployments.schemas import DeploymentStatus
from ..http.errors import conflict, field_error, not_found
from ..http.paging import Page
from ..secret_box import SecretBox
from .schemas import RevisionCreate, RevisionEvent, RevisionOut
from .states import REPORTABLE, RevisionStatus, can_move

COLUMNS = (
    "r.id, r.deployment_id, r.status, r.status_message, r.source_revision_config, "
    "r.resource_spec, r.secret_names, r.secret_references, r.redeployed_from, r.created_at, "
    "r.updated_at"
)


def to_out(row: asyncpg.Record) -> RevisionOut:
    return RevisionOut.model_validate({
        **dict(row),
        "secrets": [{"name": n} for n in row["secret_names"]],
        "redeployed_from_revision_id": row["redeployed_from"],
    })


async def list_page(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, deployment_id: uuid.UUID, page: Page
) -> list[asyncpg.Record]:
    """Newest first."""
    await deployments.get(conn, tenant_id, deployment_id)
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM revisions r WHERE r.deployment_id = $1 "
        "ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3",
        deployment_id, page.limit, page.offset,
    )


async def get(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS}, r.secrets_ciphertext FROM revisions r "
        "JOIN deployments d ON d.id = r.deployment_id "
        "WHERE r.id = $1 AND r.deployment_id = $2 AND d.tenant_id = $3",
        revision_id, deployment_id, tenant_id,
    )
    if row is None:
        raise not_found("revision")
    return row


async def create(
    conn: asyncpg.Connection, box: SecretBox, principal: Principal, deployment_id: uuid.UUID,
    body: RevisionCreate,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """A new revision from the body, keeping the deployment's current values for what is left
    out. Returns (revision, deployment)."""
    deployment = await _lock_for_change(conn, principal.tenant_id, deployment_id)
    latest = await conn.fetchrow(
        "SELECT secrets_ciphertext FROM revisions WHERE id = $1", deployment["latest_revision_id"]
    )
    if body.secrets is not None:
        names, ciphertext = deployments.seal_secrets(box, body.secrets)
    else:
        names, ciphertext = list(deployment["secret_names"]), latest["secrets_ciphertext"]
    content = deployments.RevisionContent(
        source_revision_config=body.source_revision_config.model_dump(mode="json"),
        resource_spec=(
            body.resource_spec.model_dump(mode="json")
            if body.resource_spec is not None
            else deployment["source_config"]["resource_spec"]
        ),
        secret_names=names,
        secrets_ciphertext=ciphertext,
        secret_references=(
            [r.model_dump() for r in body.secret_references]
            if body.secret_references is not None
            else deployment["secret_references"]
        ),
    )
    deployments.check_env_names_unique(content)
    deployment = await deployments.add_revision(conn, deployment, content)
    await audit.record(conn, principal, "create", "revision", deployment["latest_revision_id"])
    return await _by_id(conn, deployment["latest_revision_id"]), deployment


async def redeploy(
    conn: asyncpg.Connection, principal: Principal, deployment_id: uuid.UUID,
    revision_id: uuid.UUID,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Rollback: a new revision with exactly the content of an earlier one."""
    deployment = await _lock_for_change(conn, principal.tenant_id, deployment_id)
    old = await get(conn, principal.tenant_id, deployment_id, revision_id)
    content = deployments.RevisionContent(
        source_revision_config=old["source_revision_config"],
        resource_spec=old["resource_spec"],
        secret_names=list(old["secret_names"]),
        secrets_ciphertext=old["secrets_ciphertext"],
        secret_references=old["secret_references"],
    )
    deployment = await deployments.add_revision(conn, deployment, content, redeployed_from=revision_id)
    await audit.record(conn, principal, "redeploy", "revision", deployment["latest_revision_id"])
    return await _by_id(conn, deployment["latest_revision_id"]), deployment


async def _lock_for_change(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, deployment_id: uuid.UUID
) -> asyncpg.Record:
    deployment = await deployments.get(conn, tenant_id, deployment_id, lock=True)
    if deployment["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    return deployment


async def _by_id(conn: asyncpg.Connection, revision_id: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM revisions r WHERE r.id = $1", revision_id)


async def logs_page(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, deployment_id: uuid.UUID,
    revision_id: uuid.UUID, page: Page,
) -> list[asyncpg.Record]:
    """The revision's events, oldest first (a log reads top to bottom)."""
    await get(conn, tenant_id, deployment_id, revision_id)
    return await conn.fetch(
        "SELECT id, type, reason, message, object, timestamp FROM revision_events "
        "WHERE revision_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
        revision_id, page.limit, page.offset,
    )


async def report_status(
    conn: asyncpg.Connection, principal: Principal, revision_id: uuid.UUID,
    status: RevisionStatus, message: str | None, events: list[RevisionEvent],
) -> asyncpg.Record:
    """A listener's report: moves the revision (409 when illegal), stores the events, and on
    DEPLOYED makes it the deployment's active revision."""
    if status not in REPORTABLE:
        raise field_error(
            ("body", "status"),
            f"a listener may report only {', '.join(sorted(REPORTABLE))}",
        )
    deployment_id = await conn.fetchval(
        "SELECT r.deployment_id FROM revisions r JOIN deployments d ON d.id = r.deployment_id "
        "WHERE r.id = $1 AND d.tenant_id = $2",
        revision_id, principal.tenant_id,
    )
    if deployment_id is None:
        raise not_found("revision")
    # Lock order deployment -> revision, the same as every writer of revisions, so no deadlock.
    await deployments.get(conn, principal.tenant_id, deployment_id, lock=True)
    current = RevisionStatus(
        await conn.fetchval("SELECT status FROM revisions WHERE id = $1 FOR UPDATE", revision_id)
    )
    if not can_move(current, status):
        raise conflict(f"revision is {current.value}; it cannot move to {status.value}")
    row = await conn.fetchrow(
        f"UPDATE revisions r SET status = $2, status_message = $3, updated_at = clock_timestamp() "
        f"WHERE r.id = $1 RETURNING {COLUMNS}",
        revision_id, status.value, message,
    )
    if events:
        await conn.executemany(
            "INSERT INTO revision_events (revision_id, type, reason, message, object, timestamp) "
            "VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))",
            [(revision_id, e.type, e.reason, e.message, e.object, e.timestamp) for e in events],
        )
    if status == RevisionStatus.DEPLOYED and current != RevisionStatus.DEPLOYED:
        await conn.execute(
            "UPDATE deployments SET active_revision_id = $2, version = version + 1, "
            "updated_at = now() WHERE id = $1",
            deployment_id, revision_id,
        )
    return row
