"""When each listener last called the listener-facing API, written at most once per interval.

A listener polls its desired state on every resync and notification; writing a row each time
would cost a write per request. Each replica skips listeners it recorded within the interval,
and the UPDATE's own condition skips rows any replica touched within it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ..core.database import Conn
from ..kit.ttl_cache import TtlCache
from . import repository

CONTACT_INTERVAL_SECONDS = 5.0


class ContactRecorder:
    """Records `last_seen_at` of listeners, at most once per `interval` each."""

    def __init__(self, interval: float = CONTACT_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._recent: TtlCache[bool] = TtlCache(interval)

    async def seen(self, conn: Conn, tenant_id: uuid.UUID, listener_id: uuid.UUID) -> None:
        """Notes that the listener called now, unless it was noted within the interval. `conn`
        is the request's own connection, outside any transaction (so the write is not held
        back by, nor holds up, the request's locks)."""
        if self._recent.get(listener_id):
            return
        await repository.mark_seen(conn, tenant_id, listener_id, self._interval)
        self._recent.put(listener_id, True)


async def _contact(request: Request) -> ContactRecorder:
    recorder: ContactRecorder = request.app.state.listener_contact
    return recorder


ListenerContact = Annotated[ContactRecorder, Depends(_contact)]
