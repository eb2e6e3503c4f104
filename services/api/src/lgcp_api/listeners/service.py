"""Listeners: create, read, change, delete, and the idempotent self-registration."""

from __future__ import annotations

import uuid

import asyncpg

from ..audit import repository as audit
from ..auth.principal import Principal
from ..core.database import Conn
from ..http.errors import conflict
from ..http.etags import check_if_match
from . import repository
from .schemas import ListenerCreate, ListenerOut, ListenerPatch


def to_out(row: asyncpg.Record) -> ListenerOut:
    return ListenerOut.model_validate(dict(row))


async def create(conn: Conn, principal: Principal, body: ListenerCreate) -> asyncpg.Record:
    row = await repository.insert(
        conn, principal.tenant_id, body.compute_type, body.compute_id, body.compute_config.model_dump(mode="json")
    )
    await audit.record(conn, principal, "create", "listener", row["id"])
    return row


async def update(
    conn: Conn,
    principal: Principal,
    listener_id: uuid.UUID,
    body: ListenerPatch,
    if_match: str | None,
) -> asyncpg.Record:
    """Applies a PATCH; 409 when it would drop a namespace a deployment still runs in."""
    current = await repository.get(conn, principal.tenant_id, listener_id, lock=True)
    check_if_match(if_match, current["version"])
    compute_id = body.compute_id if body.compute_id is not None else current["compute_id"]
    config = (
        body.compute_config.model_dump(mode="json") if body.compute_config is not None else current["compute_config"]
    )
    namespaces = config.get("k8s_namespaces") or []
    if namespaces:
        stranded = await repository.stranded_deployments(conn, listener_id, namespaces)
        if stranded:
            raise conflict("deployments in namespaces this change removes: " + ", ".join(sorted(stranded)))
    row = await repository.update(conn, listener_id, compute_id, config)
    await audit.record(conn, principal, "update", "listener", listener_id)
    return row


async def delete(conn: Conn, principal: Principal, listener_id: uuid.UUID, if_match: str | None) -> None:
    """Deletes a listener that runs no deployment (409 otherwise)."""
    current = await repository.get(conn, principal.tenant_id, listener_id, lock=True)
    check_if_match(if_match, current["version"])
    count = await repository.count_deployments(conn, listener_id)
    if count:
        raise conflict(f"the listener still runs {count} deployment(s); delete them first")
    await repository.delete(conn, listener_id)
    await audit.record(conn, principal, "delete", "listener", listener_id)


async def register(
    conn: Conn, principal: Principal, compute_id: str, namespaces: list[str], data_store: str | None
) -> asyncpg.Record:
    """Creates or updates the listener with `compute_id`: safe to call on every start. Counts
    as contact (`last_seen_at`), which is not part of the version."""
    row = await repository.upsert_registration(conn, principal.tenant_id, compute_id, namespaces, data_store)
    await audit.record(conn, principal, "register", "listener", row["id"])
    return row
