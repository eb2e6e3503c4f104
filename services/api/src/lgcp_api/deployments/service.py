"""Deployment rows and the revisions their changes create. Callers own the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from pydantic import ValidationError

from .. import audit
from ..auth.principal import Principal
from ..http.errors import conflict, field_error, not_found
from ..http.etags import check_if_match
from ..http.paging import Page
from ..image_references import image_version
from ..revisions.states import RevisionStatus, superseded_status
from ..secret_box import SecretBox
from .schemas import (
    DeploymentCreate,
    DeploymentOut,
    DeploymentPatch,
    DeploymentStatus,
    ResourceSpec,
    SecretIn,
)

COLUMNS = (
    "d.id, d.tenant_id, d.name, d.source, d.listener_id, d.source_config, "
    "d.source_revision_config, d.secret_names, d.secret_references, d.status, d.status_message, "
    "d.latest_revision_id, d.active_revision_id, d.image_version, d.version, d.created_at, "
    "d.updated_at"
)


def to_out(row: asyncpg.Record) -> DeploymentOut:
    """The public shape: secret names only, never values."""
    return DeploymentOut.model_validate({
        **dict(row),
        "secrets": [{"name": n} for n in row["secret_names"]],
    })


@dataclass(frozen=True)
class RevisionContent:
    """What a revision pins down; secrets stay sealed."""

    source_revision_config: dict
    resource_spec: dict
    secret_names: list[str]
    secrets_ciphertext: bytes | None
    secret_references: list[dict]


def seal_secrets(box: SecretBox, secrets: list[SecretIn]) -> tuple[list[str], bytes | None]:
    if not secrets:
        return [], None
    return [s.name for s in secrets], box.seal([s.model_dump() for s in secrets])


async def _resolve_namespace(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, listener_id: uuid.UUID, namespace: str | None
) -> str:
    """The namespace the deployment goes to: the one asked for (which must be one of the
    listener's, when it lists any), else the listener's first. Fixed at creation, so a later
    change of the listener's list never moves a deployment silently."""
    namespaces = await conn.fetchval(
        "SELECT compute_config -> 'k8s_namespaces' FROM listeners WHERE id = $1 AND tenant_id = $2",
        listener_id, tenant_id,
    )
    if namespaces is None:
        raise field_error(("body", "source_config", "listener_id"), "no such listener in this tenant")
    if namespace is None and not namespaces:
        raise field_error(
            ("body", "source_config", "listener_config", "k8s_namespace"),
            "required: the listener declares no namespaces to default to",
        )
    if namespace is not None and namespaces and namespace not in namespaces:
        raise field_error(
            ("body", "source_config", "listener_config", "k8s_namespace"),
            f"not a namespace of the listener (one of: {', '.join(namespaces)})",
        )
    return namespace or namespaces[0]


async def create(
    conn: asyncpg.Connection, box: SecretBox, principal: Principal, body: DeploymentCreate
) -> asyncpg.Record:
    """Inserts the deployment and its first revision (QUEUED)."""
    config = body.source_config
    namespace = await _resolve_namespace(
        conn, principal.tenant_id, config.listener_id, config.listener_config.k8s_namespace
    )
    names, ciphertext = seal_secrets(box, body.secrets)
    deployment_id, revision_id = uuid.uuid4(), uuid.uuid4()
    source_config = config.model_dump(mode="json")
    source_config["listener_config"]["k8s_namespace"] = namespace
    revision_config = body.source_revision_config.model_dump(mode="json")
    references = [r.model_dump() for r in body.secret_references]
    try:
        row = await conn.fetchrow(
            f"""
            INSERT INTO deployments AS d (id, tenant_id, name, source, listener_id, source_config,
                source_revision_config, secret_names, secret_references, status,
                latest_revision_id, image_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            RETURNING {COLUMNS}
            """,
            deployment_id, principal.tenant_id, body.name, body.source, config.listener_id,
            source_config, revision_config, names, references,
            DeploymentStatus.AWAITING_DATABASE.value, revision_id,
            image_version(body.source_revision_config.image_uri),
        )
    except asyncpg.UniqueViolationError:
        raise conflict(f"a deployment named {body.name!r} already exists in this tenant") from None
    await _insert_revision(
        conn, revision_id, deployment_id,
        RevisionContent(revision_config, source_config["resource_spec"], names, ciphertext, references),
        redeployed_from=None,
    )
    await audit.record(conn, principal, "create", "deployment", deployment_id)
    return row


async def _insert_revision(
    conn: asyncpg.Connection, revision_id: uuid.UUID, deployment_id: uuid.UUID,
    content: RevisionContent, redeployed_from: uuid.UUID | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO revisions (id, deployment_id, status, source_revision_config, resource_spec,
            secret_names, secrets_ciphertext, secret_references, redeployed_from)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        revision_id, deployment_id, RevisionStatus.QUEUED.value, content.source_revision_config,
        content.resource_spec, content.secret_names, content.secrets_ciphertext,
        content.secret_references, redeployed_from,
    )


async def add_revision(
    conn: asyncpg.Connection, deployment: asyncpg.Record, content: RevisionContent,
    redeployed_from: uuid.UUID | None = None,
) -> asyncpg.Record:
    """Adds a QUEUED revision, supersedes unfinished older ones, and makes the deployment's
    current configuration equal to the new revision's. `deployment` must be locked."""
    revision_id = uuid.uuid4()
    unfinished = await conn.fetch(
        "SELECT id, status FROM revisions WHERE deployment_id = $1 "
        "AND status = ANY($2::text[]) FOR UPDATE",
        deployment["id"], [s.value for s in RevisionStatus if superseded_status(s)],
    )
    for old in unfinished:
        await conn.execute(
            "UPDATE revisions SET status = $2, status_message = $3, updated_at = clock_timestamp() "
            "WHERE id = $1",
            old["id"], superseded_status(RevisionStatus(old["status"])).value,
            f"superseded by revision {revision_id}",
        )
    await _insert_revision(conn, revision_id, deployment["id"], content, redeployed_from)
    source_config = {**deployment["source_config"], "resource_spec": content.resource_spec}
    return await conn.fetchrow(
        f"""
        UPDATE deployments AS d SET latest_revision_id = $2, source_config = $3,
            source_revision_config = $4, secret_names = $5, secret_references = $6,
            image_version = $7, version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING {COLUMNS}
        """,
        deployment["id"], revision_id, source_config, content.source_revision_config,
        content.secret_names, content.secret_references,
        image_version(content.source_revision_config["image_uri"]),
    )


async def get(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, deployment_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    """The deployment in this tenant; 404 for a missing one and another tenant's alike."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM deployments d WHERE d.id = $1 AND d.tenant_id = $2"
        + (" FOR UPDATE" if lock else ""),
        deployment_id, tenant_id,
    )
    if row is None:
        raise not_found("deployment")
    return row


@dataclass(frozen=True)
class ListFilters:
    name: str | None = None
    name_contains: str | None = None
    statuses: list[str] | None = None
    deployment_ids: list[uuid.UUID] | None = None
    image_version: str | None = None


async def list_page(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, filters: ListFilters, page: Page
) -> list[asyncpg.Record]:
    clauses, args = ["d.tenant_id = $1"], [tenant_id]

    def add(sql: str, value: object) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if filters.name is not None:
        add("d.name = {}", filters.name)
    if filters.name_contains:
        add("strpos(d.name, {}) > 0", filters.name_contains)
    if filters.statuses:
        add("d.status = ANY({}::text[])", filters.statuses)
    if filters.deployment_ids is not None:
        add("d.id = ANY({}::uuid[])", filters.deployment_ids)
    if filters.image_version is not None:
        add("d.image_version = {}", filters.image_version)
    args += [page.limit, page.offset]
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM deployments d WHERE {' AND '.join(clauses)} "
        f"ORDER BY d.created_at DESC, d.id DESC LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )


def _merge_resource_spec(current: dict, patch: dict) -> dict:
    merged = {**current, **patch}
    # A limit that only mirrored its request follows the request when the request changes.
    for request, limit in (("cpu", "cpu_limit"), ("memory_mb", "memory_limit_mb")):
        if request in patch and limit not in patch and current.get(limit) == current.get(request):
            merged.pop(limit, None)
    try:
        return ResourceSpec.model_validate(merged).model_dump(mode="json")
    except ValidationError as exc:
        error = exc.errors()[0]
        raise field_error(
            ("body", "source_config", "resource_spec", *error["loc"]), error["msg"]
        ) from None


async def update(
    conn: asyncpg.Connection, box: SecretBox, principal: Principal, deployment_id: uuid.UUID,
    body: DeploymentPatch, if_match: str | None,
) -> tuple[asyncpg.Record, bool]:
    """Applies a PATCH; returns the row and whether a new revision was created."""
    current = await get(conn, principal.tenant_id, deployment_id, lock=True)
    check_if_match(if_match, current["version"])
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    if body.name is not None and body.name != current["name"]:
        raise field_error(("body", "name"), "name cannot be changed")
    source_config = dict(current["source_config"])
    spec_patch = None
    if body.source_config is not None:
        patch = body.source_config
        if patch.listener_id is not None and patch.listener_id != current["listener_id"]:
            raise field_error(
                ("body", "source_config", "listener_id"),
                "a deployment cannot move to another listener; create a new deployment",
            )
        # Only a namespace that is given and differs is a move; {} or null leaves it where it is.
        if patch.listener_config is not None and patch.listener_config.k8s_namespace is not None and (
            patch.listener_config.k8s_namespace
            != source_config["listener_config"]["k8s_namespace"]
        ):
            raise field_error(
                ("body", "source_config", "listener_config", "k8s_namespace"),
                "a deployment cannot move to another namespace; create a new deployment",
            )
        if "custom_url" in patch.model_fields_set:
            source_config["custom_url"] = patch.custom_url
        if patch.resource_spec is not None:
            spec_patch = patch.resource_spec.model_dump(exclude_unset=True)
    new_revision = any(
        x is not None
        for x in (body.source_revision_config, body.secrets, body.secret_references, spec_patch)
    )
    if source_config != current["source_config"]:
        current = await conn.fetchrow(
            f"UPDATE deployments AS d SET source_config = $2, version = version + 1, "
            f"updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
            deployment_id, source_config,
        )
    if new_revision:
        latest = await conn.fetchrow(
            "SELECT secrets_ciphertext FROM revisions WHERE id = $1", current["latest_revision_id"]
        )
        if body.secrets is not None:
            names, ciphertext = seal_secrets(box, body.secrets)
        else:
            names, ciphertext = list(current["secret_names"]), latest["secrets_ciphertext"]
        content = RevisionContent(
            source_revision_config=(
                body.source_revision_config.model_dump(mode="json")
                if body.source_revision_config is not None
                else current["source_revision_config"]
            ),
            resource_spec=(
                _merge_resource_spec(source_config["resource_spec"], spec_patch)
                if spec_patch is not None
                else source_config["resource_spec"]
            ),
            secret_names=names,
            secrets_ciphertext=ciphertext,
            secret_references=(
                [r.model_dump() for r in body.secret_references]
                if body.secret_references is not None
                else current["secret_references"]
            ),
        )
        check_env_names_unique(content)
        current = await add_revision(conn, current, content)
    await audit.record(conn, principal, "update", "deployment", deployment_id)
    return current, new_revision


def check_env_names_unique(content: RevisionContent) -> None:
    # A PATCH may change secrets or references alone; the union must still be unambiguous.
    names = content.secret_names + [r["name"] for r in content.secret_references]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise field_error(
            ("body", "secrets"),
            f"environment variable(s) {', '.join(duplicates)} given both as secret and reference",
        )


async def request_delete(
    conn: asyncpg.Connection, principal: Principal, deployment_id: uuid.UUID, if_match: str | None
) -> asyncpg.Record:
    """Marks the deployment AWAITING_DELETE; the listener removes it and then reports back."""
    current = await get(conn, principal.tenant_id, deployment_id, lock=True)
    check_if_match(if_match, current["version"])
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        return current
    row = await conn.fetchrow(
        f"UPDATE deployments AS d SET status = $2, version = version + 1, updated_at = now() "
        f"WHERE id = $1 RETURNING {COLUMNS}",
        deployment_id, DeploymentStatus.AWAITING_DELETE.value,
    )
    await audit.record(conn, principal, "delete", "deployment", deployment_id)
    return row


async def forget(conn: asyncpg.Connection, principal: Principal, deployment_id: uuid.UUID) -> None:
    """Removes a deployment in AWAITING_DELETE and its revisions; used when the listener reports
    it removed everything, or when an admin forces a deletion."""
    await conn.execute("DELETE FROM deployments WHERE id = $1", deployment_id)
    await audit.record(conn, principal, "forget", "deployment", deployment_id)
