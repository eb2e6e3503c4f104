"""GET /v2/listener-api/listeners/{id}/changes: the long-poll wake-up of a listener that cannot
reach the control plane's Redis (another cluster), answered from the same stream
(change_feed.py). Best effort like the stream itself: the listener's periodic resync converges
whatever this misses, so Redis being down is a 503 and nothing more."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ..http.deps import Pool
from ..listeners import repository as listeners
from ..listeners.contact import ListenerContact
from .change_feed import MAX_WAIT_SECONDS, ChangeFeed, FeedUnavailable
from .router import ListenerPrincipal

router = APIRouter(prefix="/listener-api", tags=["listener-api"])
# Seconds a listener is told to wait when Redis is unreachable (its resync still runs meanwhile).
FEED_RETRY_AFTER = 5
CURSOR_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"


class ChangeOut(BaseModel):
    deployment_id: str | None = Field(description="the deployment to reread; null: reread everything")
    change: str | None = Field(description="created, updated, revision or deleted (informative)")


class ChangesOut(BaseModel):
    cursor: str = Field(description="pass as `after` on the next poll")
    changes: list[ChangeOut]
    resync: bool = Field(description="changes may have been missed: reread the whole desired state")


async def _feed(request: Request) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.change_feed
    return feed


Feed = Annotated[ChangeFeed, Depends(_feed)]


@router.get(
    "/listeners/{listener_id}/changes",
    response_model=ChangesOut,
    summary="Wait for the listener's next changes (long poll; 503 while Redis is unreachable)",
)
async def changes(
    listener_id: uuid.UUID,
    principal: ListenerPrincipal,
    pool: Pool,
    contact: ListenerContact,
    feed: Feed,
    after: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="the cursor of the previous answer; absent: answer at once with the current one",
        ),
    ] = None,
    wait: Annotated[
        float,
        Query(ge=0, description=f"seconds to wait for a change; at most {MAX_WAIT_SECONDS:g} (larger is capped)"),
    ] = MAX_WAIT_SECONDS,
) -> ChangesOut:
    # A pool connection only for the check, never held through the wait: waiting listeners
    # would otherwise take the pool from every other request.
    async with pool.acquire() as conn:
        await listeners.get(conn, principal.tenant_id, listener_id)
        await contact.seen(conn, principal.tenant_id, listener_id)
    try:
        found = await feed.read(listener_id, after, wait)
    except FeedUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{exc}; wake-ups are paused, the periodic resync still converges",
            headers={"Retry-After": str(FEED_RETRY_AFTER)},
        ) from None
    return ChangesOut(
        cursor=found.cursor,
        changes=[ChangeOut(deployment_id=c.deployment_id, change=c.change) for c in found.changes],
        resync=found.resync,
    )
