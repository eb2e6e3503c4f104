"""Moving a deployment to another listener (a data plane gone for good, or a cluster retired).

The deployment keeps its id, name, revisions and secrets; the move is a new revision (a redeploy
of the latest) that the new listener rolls out. The old listener no longer finds the deployment
in its desired state: it removes its objects but never drops its databases (an orphan's data is
kept), so an agent moved between listeners that share the database servers keeps its data, and
one moved elsewhere (only with `allow_new_databases`) leaves its old data where it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from lgcp_contract.data_stores import DEDICATED, shares_data
from lgcp_contract.statuses import DeploymentStatus

from ..audit import repository as audit
from ..auth.principal import Principal
from ..core.database import Conn
from ..core.secret_box import SecretBox
from ..http.errors import conflict, rule_violation
from ..http.etags import check_if_match
from ..listeners import repository as listeners
from ..revisions import content as revision_content
from ..revisions import service as revisions
from . import repository
from .move_schemas import DeploymentMove


@dataclass(frozen=True)
class Moved:
    row: asyncpg.Record
    from_listener_id: uuid.UUID
    databases_kept: bool
    warning: str | None


def _namespace(asked: str | None, current: str, target: list[str]) -> str:
    if asked is not None:
        if target and asked not in target:
            raise rule_violation(("k8s_namespace",), f"not a namespace of the listener (one of: {', '.join(target)})")
        return asked
    if not target or current in target:
        return current
    return target[0]


def _describe(store: str | None) -> str:
    if store is None:
        return "a place it has not reported"
    if store == DEDICATED:
        return "each agent's own Postgres in its cluster (dedicated mode)"
    return f"data store {store}"


async def move(
    conn: Conn,
    box: SecretBox,
    principal: Principal,
    deployment_id: uuid.UUID,
    body: DeploymentMove,
    if_match: str | None,
) -> Moved:
    """Points the deployment at `body.listener_id` with a new revision; refuses (409, nothing
    changed) a move that would leave the agent's data behind unless `allow_new_databases`."""
    current = await repository.get(conn, principal.tenant_id, deployment_id, lock=True)
    check_if_match(if_match, current["version"])
    if current["status"] == DeploymentStatus.AWAITING_DELETE:
        raise conflict("the deployment is being deleted")
    source = current["listener_id"]
    if body.listener_id == source:
        raise rule_violation(("listener_id",), "the deployment already runs on this listener")
    target_namespaces = await listeners.namespaces(conn, principal.tenant_id, body.listener_id)
    if target_namespaces is None:
        raise rule_violation(("listener_id",), "no such listener in this tenant")
    config = current["source_config"]
    namespace = _namespace(body.k8s_namespace, config["listener_config"]["k8s_namespace"], target_namespaces)
    stores = await listeners.data_stores(conn, [source, body.listener_id])
    kept = shares_data(stores.get(source), stores.get(body.listener_id))
    warning = None
    if not kept:
        warning = (
            f"listener {source} keeps this agent's databases in {_describe(stores.get(source))} and "
            f"listener {body.listener_id} in {_describe(stores.get(body.listener_id))}: the agent starts "
            "on empty databases there (threads, runs and store are not moved); its current databases are "
            "kept where they are, not dropped"
        )
        if not body.allow_new_databases:
            raise conflict(f"{warning}. Pass allow_new_databases=true to move it anyway")
    moved_config = {
        **config,
        "listener_id": str(body.listener_id),
        "listener_config": {**config["listener_config"], "k8s_namespace": namespace},
    }
    row = await repository.move_to_listener(
        conn, deployment_id, body.listener_id, moved_config, f"moved from listener {source}"
    )
    content = await revision_content.with_changes(
        conn, box, row, source_revision_config=None, resource_spec=None, secrets=None, secret_references=None
    )
    row = await revisions.add(conn, row, content, redeployed_from=current["latest_revision_id"])
    await audit.record(conn, principal, "move", "deployment", deployment_id)
    return Moved(row, source, kept, warning)
