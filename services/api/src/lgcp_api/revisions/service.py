"""Revisions: the write path every change of a deployment's content goes through (supersede the
unfinished ones, insert the new one, point the deployment at it), new revisions and redeploys,
reads, and the listener's status reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
from lgcp_contract.statuses import DeploymentStatus, RevisionStatus

from ..audit import repository as audit
from ..auth.principal import Principal
from ..core.database import Conn
from ..core.secret_box import SecretBox
from ..deployments import repository as deployments
from ..http.errors import conflict, field_error, not_found
from ..http.paging import Page
from ..kit.image_references import image_version
from . import content as revision_content
from . import repository
from .content import RevisionContent
from .repository import NewRevision
from .schemas import RevisionCreate, RevisionEvent, RevisionOut
from .state_machine import REPORTABLE, UNFINISHED, can_move, superseded_status


def to_out(row: asyncpg.Record) -> RevisionOut:
    """The public shape: secret names only, never values."""
    return RevisionOut.model_validate(
        {
            **dict(row),
            "secrets": [{"name": n} for n in row["secret_names"]],
            "redeployed_from_revision_id": row["redeployed_from"],
        }
    )


async def add_first(conn: Conn, revision_id: uuid.UUID, deployment_id: uuid.UUID, content: RevisionContent) -> None:
    """The first revision of a deployment just inserted (which already points at it)."""
    await repository.insert(conn, _new_revision(revision_id, deployment_id, content, None))


async def add(
    conn: Conn,
    deployment: asyncpg.Record,
    content: RevisionContent,
    redeployed_from: uuid.UUID | None = None,
) -> asyncpg.Record:
    """Adds a QUEUED revision, supersedes unfinished older ones, and makes the deployment's
    current configuration equal to the new revision's. `deployment` must be locked. Returns the
    deployment as it is now."""
    revision_id = uuid.uuid4()
    for old in await repository.lock_in_statuses(conn, deployment["id"], sorted(UNFINISHED)):
        superseded = superseded_status(RevisionStatus(old["status"]))
        assert superseded is not None  # every unfinished status is superseded by something
        await repository.set_status(conn, old["id"], superseded, f"superseded by revision {revision_id}")
    await repository.insert(conn, _new_revision(revision_id, deployment["id"], content, redeployed_from))
    return await deployments.point_at_revision(
        conn,
        deployment["id"],
        revision_id,
        {**deployment["source_config"], "resource_spec": content.resource_spec},
        content.source_revision_config,
        content.secret_names,
        content.secret_references,
        image_version(content.source_revision_config["image_uri"]),
    )


def _new_revision(
    revision_id: uuid.UUID, deployment_id: uuid.UUID, content: RevisionContent, redeployed_from: uuid.UUID | None
) -> NewRevision:
    return NewRevision(
        id=revision_id,
        deployment_id=deployment_id,
        source_revision_config=content.source_revision_config,
        resource_spec=content.resource_spec,
        secret_names=content.secret_names,
        secrets_ciphertext=content.secrets_ciphertext,
        secret_references=content.secret_references,
        redeployed_from=redeployed_from,
    )


async def list_page(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, page: Page) -> list[asyncpg.Record]:
    """Newest first; 404 for a deployment that is not in the tenant."""
    await deployments.get(conn, tenant_id, deployment_id)
    return await repository.list_page(conn, deployment_id, page)


async def get(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, revision_id: uuid.UUID) -> asyncpg.Record:
    row = await repository.find(conn, tenant_id, deployment_id, revision_id)
    if row is None:
        raise not_found("revision")
    return row


async def get_many(conn: Conn, tenant_id: uuid.UUID, revision_ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """The revisions of `revision_ids` in this tenant, in the order asked; unknown ones are left
    out (missing and another tenant's alike)."""
    found = {row["id"]: row for row in await repository.find_many(conn, tenant_id, revision_ids)}
    return [found[i] for i in dict.fromkeys(revision_ids) if i in found]


async def create(
    conn: Conn,
    box: SecretBox,
    principal: Principal,
    deployment_id: uuid.UUID,
    body: RevisionCreate,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """A new revision from the body, keeping the deployment's current values for what is left
    out. Returns (revision, deployment)."""
    deployment = await _lock_for_change(conn, principal.tenant_id, deployment_id)
    content = await revision_content.with_changes(
        conn,
        box,
        deployment,
        source_revision_config=body.source_revision_config,
        resource_spec=body.resource_spec.model_dump(mode="json") if body.resource_spec is not None else None,
        secrets=body.secrets,
        secret_references=body.secret_references,
    )
    deployment = await add(conn, deployment, content)
    await audit.record(conn, principal, "create", "revision", deployment["latest_revision_id"])
    return await repository.by_id(conn, deployment["latest_revision_id"]), deployment


async def redeploy(
    conn: Conn, principal: Principal, deployment_id: uuid.UUID, revision_id: uuid.UUID
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Rollback: a new revision with exactly the content of an earlier one."""
    deployment = await _lock_for_change(conn, principal.tenant_id, deployment_id)
    old = await get(conn, principal.tenant_id, deployment_id, revision_id)
    deployment = await add(conn, deployment, revision_content.copy_of(old), redeployed_from=revision_id)
    await audit.record(conn, principal, "redeploy", "revision", deployment["latest_revision_id"])
    return await repository.by_id(conn, deployment["latest_revision_id"]), deployment


async def interrupt(
    conn: Conn, principal: Principal, deployment_id: uuid.UUID, revision_id: uuid.UUID
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Stops a revision still rolling out: it becomes INTERRUPTED and the deployment's active
    revision is restored as a new revision, a new desired state for the listener (which never
    takes orders, only states). 409 for a finished revision, and for a first rollout, which has
    no earlier revision to go back to. Returns (interrupted revision, deployment)."""
    deployment = await _lock_for_change(conn, principal.tenant_id, deployment_id)
    revision = await get(conn, principal.tenant_id, deployment_id, revision_id)
    current = RevisionStatus(revision["status"])
    if current not in UNFINISHED:
        raise conflict(
            f"revision {revision_id} is {current.value}: only a revision still rolling out can be interrupted"
        )
    active_id = deployment["active_revision_id"]
    if active_id is None or active_id == revision_id:
        raise conflict(
            f"revision {revision_id} is the deployment's first rollout: there is no earlier revision to restore; "
            "delete the deployment to stop it"
        )
    restored = await get(conn, principal.tenant_id, deployment_id, active_id)
    await repository.set_status(
        conn,
        revision_id,
        RevisionStatus.INTERRUPTED,
        f"interrupted by API key {principal.api_key_id}; {active_id} restored",
    )
    deployment = await add(conn, deployment, revision_content.copy_of(restored), redeployed_from=active_id)
    await audit.record(conn, principal, "interrupt", "revision", revision_id)
    return await repository.by_id(conn, revision_id), deployment


async def _lock_for_change(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID) -> asyncpg.Record:
    deployment = await deployments.get(conn, tenant_id, deployment_id, lock=True)
    if deployment["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    return deployment


async def logs_page(
    conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, revision_id: uuid.UUID, page: Page
) -> list[asyncpg.Record]:
    """The revision's events, oldest first (a log reads top to bottom)."""
    await get(conn, tenant_id, deployment_id, revision_id)
    return await repository.events_page(conn, revision_id, page)


async def report_status(
    conn: Conn,
    principal: Principal,
    revision_id: uuid.UUID,
    status: RevisionStatus,
    message: str | None,
    events: list[RevisionEvent],
) -> asyncpg.Record:
    """A listener's report: moves the revision (409 when illegal), stores the events, and on
    DEPLOYED makes it the deployment's active revision."""
    if status not in REPORTABLE:
        raise field_error(("body", "status"), f"a listener may report only {', '.join(sorted(REPORTABLE))}")
    deployment_id = await repository.deployment_of(conn, principal.tenant_id, revision_id)
    if deployment_id is None:
        raise not_found("revision")
    # Lock order deployment -> revision, the same as every writer of revisions, so no deadlock.
    await deployments.get(conn, principal.tenant_id, deployment_id, lock=True)
    current = await repository.lock_status(conn, revision_id)
    if not can_move(current, status):
        raise conflict(f"revision is {current.value}; it cannot move to {status.value}")
    row = await repository.set_status(conn, revision_id, status, message)
    if events:
        await repository.insert_events(conn, revision_id, events)
    if status == RevisionStatus.DEPLOYED and current != RevisionStatus.DEPLOYED:
        await deployments.set_active_revision(conn, deployment_id, revision_id)
    return row
