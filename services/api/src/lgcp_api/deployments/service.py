"""Deployments: creation (with its first revision), PATCH (which may make a new revision),
deletion, and the public shape. Callers own the transaction."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from lgcp_contract.statuses import DeploymentStatus
from pydantic import ValidationError

from ..audit import repository as audit
from ..auth.principal import Principal
from ..core.database import Conn
from ..core.secret_box import SecretBox
from ..http.errors import conflict, rule_violation
from ..http.etags import check_if_match
from ..http.paging import Page
from ..kit.image_references import image_version
from ..listeners import repository as listeners
from ..revisions import content as revision_content
from ..revisions import service as revisions
from . import repository
from .repository import NewDeployment
from .schemas import SOURCE_MESSAGE, DeploymentCreate, DeploymentOut, DeploymentPatch, ResourceSpec


def to_out(row: asyncpg.Record) -> DeploymentOut:
    """The public shape: secret names only, never values."""
    return DeploymentOut.model_validate({**dict(row), "secrets": [{"name": n} for n in row["secret_names"]]})


async def _resolve_namespace(conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID, namespace: str | None) -> str:
    """The namespace the deployment goes to: the one asked for (which must be one of the
    listener's, when it lists any), else the listener's first. Fixed at creation, so a later
    change of the listener's list never moves a deployment silently."""
    namespaces = await listeners.namespaces(conn, tenant_id, listener_id)
    if namespaces is None:
        raise rule_violation(("source_config", "listener_id"), "no such listener in this tenant")
    if namespace is None and not namespaces:
        raise rule_violation(
            ("source_config", "listener_config", "k8s_namespace"),
            "required: the listener declares no namespaces to default to",
        )
    if namespace is not None and namespaces and namespace not in namespaces:
        raise rule_violation(
            ("source_config", "listener_config", "k8s_namespace"),
            f"not a namespace of the listener (one of: {', '.join(namespaces)})",
        )
    # The first is the listener's default: it registers its DEFAULT_NAMESPACE first.
    return namespace or namespaces[0]


async def _resolve_listener(conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID | None) -> uuid.UUID:
    """The listener asked for, else the tenant's only one. LangSmith's wording for the refusal:
    langgraph-cli recognises "'listener_id' is required" and tells the user to pass --listener-id."""
    if listener_id is not None:
        return listener_id
    found = await listeners.list_page(conn, tenant_id, Page(limit=2, offset=0))
    if len(found) == 1:
        listener_id = found[0]["id"]
        assert isinstance(listener_id, uuid.UUID)
        return listener_id
    why = "the tenant has several listeners" if found else "the tenant has no listener yet"
    raise rule_violation(("source_config",), f"'listener_id' is required: {why}")


async def create(conn: Conn, box: SecretBox, principal: Principal, body: DeploymentCreate) -> asyncpg.Record:
    """Inserts the deployment and its first revision (QUEUED)."""
    if body.source != "external_docker":
        raise rule_violation(("source",), f"{body.source!r} is not supported: {SOURCE_MESSAGE}")
    config = body.source_config
    listener_id = await _resolve_listener(conn, principal.tenant_id, config.listener_id)
    namespace = await _resolve_namespace(conn, principal.tenant_id, listener_id, config.listener_config.k8s_namespace)
    source_config = config.model_dump(mode="json")
    source_config["listener_id"] = str(listener_id)
    source_config["listener_config"]["k8s_namespace"] = namespace
    content = revision_content.first(
        body.source_revision_config, source_config["resource_spec"], body.secrets, body.secret_references, box
    )
    deployment_id, revision_id = uuid.uuid4(), uuid.uuid4()
    row = await repository.insert(
        conn,
        NewDeployment(
            id=deployment_id,
            tenant_id=principal.tenant_id,
            name=body.name,
            source=body.source,
            listener_id=listener_id,
            source_config=source_config,
            source_revision_config=content.source_revision_config,
            secret_names=content.secret_names,
            secret_references=content.secret_references,
            latest_revision_id=revision_id,
            image_version=image_version(body.source_revision_config.image_uri),
        ),
    )
    await revisions.add_first(conn, revision_id, deployment_id, content)
    await audit.record(conn, principal, "create", "deployment", deployment_id)
    return row


def _merge_resource_spec(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = {**current, **patch}
    # A limit that only mirrored its request follows the request when the request changes.
    for request, limit in (("cpu", "cpu_limit"), ("memory_mb", "memory_limit_mb")):
        if request in patch and limit not in patch and current.get(limit) == current.get(request):
            merged.pop(limit, None)
    try:
        return ResourceSpec.model_validate(merged).model_dump(mode="json")
    except ValidationError as exc:
        error = exc.errors()[0]
        raise rule_violation(
            ("source_config", "resource_spec", *map(str, error["loc"])), error["msg"].removeprefix("Value error, ")
        ) from None


def _check_immutable(current: asyncpg.Record, body: DeploymentPatch) -> None:
    """Name, listener and namespace never change (moving is delete + create)."""
    if body.name is not None and body.name != current["name"]:
        raise rule_violation(("name",), "name cannot be changed")
    patch = body.source_config
    if patch is None:
        return
    if patch.listener_id is not None and patch.listener_id != current["listener_id"]:
        raise rule_violation(
            ("source_config", "listener_id"),
            "a deployment cannot move to another listener; create a new deployment",
        )
    # Only a namespace that is given and differs is a move; {} or null leaves it where it is.
    namespace = patch.listener_config.k8s_namespace if patch.listener_config is not None else None
    if namespace is not None and namespace != current["source_config"]["listener_config"]["k8s_namespace"]:
        raise rule_violation(
            ("source_config", "listener_config", "k8s_namespace"),
            "a deployment cannot move to another namespace; create a new deployment",
        )


async def update(
    conn: Conn,
    box: SecretBox,
    principal: Principal,
    deployment_id: uuid.UUID,
    body: DeploymentPatch,
    if_match: str | None,
) -> tuple[asyncpg.Record, bool]:
    """Applies a PATCH; returns the row and whether a new revision was created."""
    current = await repository.get(conn, principal.tenant_id, deployment_id, lock=True)
    check_if_match(if_match, current["version"])
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    _check_immutable(current, body)
    source_config = dict(current["source_config"])
    spec_patch = None
    if body.source_config is not None:
        if "custom_url" in body.source_config.model_fields_set:
            source_config["custom_url"] = body.source_config.custom_url
        if body.source_config.resource_spec is not None:
            spec_patch = body.source_config.resource_spec.model_dump(exclude_unset=True)
    new_revision = any(
        x is not None for x in (body.source_revision_config, body.secrets, body.secret_references, spec_patch)
    )
    if source_config != current["source_config"]:
        current = await repository.set_source_config(conn, deployment_id, source_config)
    if new_revision:
        content = await revision_content.with_changes(
            conn,
            box,
            current,
            source_revision_config=body.source_revision_config,
            resource_spec=(
                _merge_resource_spec(source_config["resource_spec"], spec_patch) if spec_patch is not None else None
            ),
            secrets=body.secrets,
            secret_references=body.secret_references,
        )
        current = await revisions.add(conn, current, content)
    await audit.record(conn, principal, "update", "deployment", deployment_id)
    return current, new_revision


async def request_delete(
    conn: Conn, principal: Principal, deployment_id: uuid.UUID, if_match: str | None
) -> asyncpg.Record:
    """Marks the deployment AWAITING_DELETE; the listener removes it and then reports back."""
    current = await repository.get(conn, principal.tenant_id, deployment_id, lock=True)
    check_if_match(if_match, current["version"])
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        return current
    row = await repository.mark_awaiting_delete(conn, deployment_id)
    await audit.record(conn, principal, "delete", "deployment", deployment_id)
    return row


async def forget(conn: Conn, principal: Principal, deployment_id: uuid.UUID) -> None:
    """Removes a deployment in AWAITING_DELETE and its revisions; used when the listener reports
    it removed everything, or when an admin forces a deletion."""
    await repository.delete(conn, deployment_id)
    await audit.record(conn, principal, "forget", "deployment", deployment_id)
