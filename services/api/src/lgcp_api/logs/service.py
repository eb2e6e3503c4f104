"""Runtime logs: the listener's reports stored within bounds, and the reads of `deploy logs`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from lgcp_contract.statuses import RevisionStatus

from ..core.database import Conn
from ..deployments import repository as deployments
from ..http.errors import rule_violation
from ..manifests import repository as manifests
from ..revisions.schemas import RevisionEvent
from . import repository
from .repository import Filter, NewEntry
from .schemas import MAX_MESSAGE_CHARS, Level, LogEntryOut, LogsIn, LogsOut, LogsQuery, Origin

# What the API keeps per deployment: the newest entries, for a week. The listener bounds what it
# ships per pod and revision too (lgcp_listener.logs); this is the API's own bound.
KEEP_PER_DEPLOYMENT = 5000
RETENTION = dt.timedelta(days=7)
_SEVERITY = list(Level)
NO_BUILD_LOGS = (
    "this control plane deploys prebuilt images (source external_docker): there are no build logs. "
    "Build with `langgraph build`, push to a registry, and read the runtime logs with "
    "`langgraph deploy logs` (--type deploy)."
)


async def store(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, body: LogsIn) -> None:
    """Appends the listener's report; 404 for another tenant's deployment, 400 for an entry of a
    revision of another deployment."""
    await deployments.get(conn, tenant_id, deployment_id)
    for revision_id in {e.revision_id for e in body.entries if e.revision_id is not None}:
        if not await manifests.revision_belongs(conn, deployment_id, revision_id):
            raise rule_violation(("entries", "revision_id"), f"{revision_id} is not a revision of this deployment")
    entries = [NewEntry(e.revision_id, e.timestamp, e.level.value, e.origin.value, e.message) for e in body.entries]
    await repository.append(conn, deployment_id, entries)
    await repository.trim(conn, deployment_id, KEEP_PER_DEPLOYMENT, RETENTION)


# How a step the listener reports reads in the logs: a failed rollout is what `--level error` finds.
_STEP_LEVELS = {RevisionStatus.DEPLOY_FAILED.value: Level.ERROR, RevisionStatus.UNKNOWN.value: Level.WARNING}
LISTENER_EVENT = "Listener"  # the `type` of the listener's own lines among a report's events


def step_entries(revision_id: uuid.UUID, events: Sequence[RevisionEvent], received: dt.datetime) -> list[NewEntry]:
    """Log entries of a revision status report: the listener's own steps (what it applied, that
    the rollout completed, why it failed: `reason` is the status it reported) and the events of
    objects other than pods (the agent's Deployment; the listener ships pod events itself)."""
    entries = []
    for event in events:
        if event.type == LISTENER_EVENT:
            level, origin = _STEP_LEVELS.get(event.reason or "", Level.INFO), Origin.listener
            parts = [event.reason, event.message if event.message != event.reason else None]
        elif (event.object or "").startswith("Pod/"):
            continue
        else:
            level, origin = Level.WARNING if event.type == "Warning" else Level.INFO, Origin.event
            parts = [event.object, event.reason, event.message]
        text = ": ".join(p for p in parts if p) or event.type
        entries.append(
            NewEntry(revision_id, event.timestamp or received, level.value, origin.value, text[:MAX_MESSAGE_CHARS])
        )
    return entries


async def record_steps(
    conn: Conn, deployment_id: uuid.UUID, revision_id: uuid.UUID, events: Sequence[RevisionEvent]
) -> None:
    """Appends what a revision status report says to the deployment's logs, within the bounds
    of what the API keeps (the report's transaction: both are stored or neither)."""
    entries = step_entries(revision_id, events, dt.datetime.now(dt.UTC))
    if entries:
        await repository.append(conn, deployment_id, entries)
        await repository.trim(conn, deployment_id, KEEP_PER_DEPLOYMENT, RETENTION)


async def read(
    conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, revision_id: uuid.UUID | None, query: LogsQuery
) -> LogsOut:
    await deployments.get(conn, tenant_id, deployment_id)
    if revision_id is not None and not await manifests.revision_belongs(conn, deployment_id, revision_id):
        raise rule_violation(("revision_id",), "is not a revision of this deployment")
    if query.start_time and query.end_time and query.start_time >= query.end_time:
        raise rule_violation(("start_time",), "must be before end_time")
    levels = _SEVERITY[_SEVERITY.index(query.level) :] if query.level is not None else None
    where = Filter(
        revision_id, [lv.value for lv in levels] if levels else None, query.query, query.start_time, query.end_time
    )
    # One more than asked tells whether there is a next page.
    rows = await repository.read(
        conn, deployment_id, where, ascending=query.order == "asc", limit=query.limit + 1, offset=query.offset
    )
    more = len(rows) > query.limit
    logs = [
        LogEntryOut(
            id=str(r["id"]),
            timestamp=int(r["logged_at"].timestamp() * 1000),
            level=Level(r["level"]),
            message=r["message"],
            origin=r["origin"],
            revision_id=r["revision_id"],
        )
        for r in rows[: query.limit]
    ]
    return LogsOut(logs=logs, next_offset=query.offset + query.limit if more else None)


async def build_logs(conn: Conn, tenant_id: uuid.UUID, deployment_id: uuid.UUID, revision_id: uuid.UUID) -> LogsOut:
    """The one answer to a build-logs request: there is no build here, and why."""
    await deployments.get(conn, tenant_id, deployment_id)
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    entry = LogEntryOut(
        id=f"no-build-{revision_id}",
        timestamp=now,
        level=Level.INFO,
        message=NO_BUILD_LOGS,
        origin="listener",
        revision_id=revision_id,
    )
    return LogsOut(logs=[entry], next_offset=None)
