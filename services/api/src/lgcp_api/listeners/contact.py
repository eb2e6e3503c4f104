"""When each listener last called the listener-facing API, written at most once per interval.

A listener polls its desired state on every resync and notification; writing a row each time
would cost a write per request. Each replica skips listeners it recorded within the interval,
and the UPDATE's own condition skips rows any replica touched within it.
"""

from __future__ import annotations

import uuid

import asyncpg

from ..auth.cache import TtlCache

CONTACT_INTERVAL_SECONDS = 5.0


class ContactRecorder:
    """Records `last_seen_at` of listeners, at most once per `interval` each."""

    def __init__(self, interval: float = CONTACT_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._recent: TtlCache[bool] = TtlCache(interval)

    async def seen(self, pool: asyncpg.Pool, tenant_id: uuid.UUID, listener_id: uuid.UUID) -> None:
        """Notes that the listener called now, unless it was noted within the interval."""
        if self._recent.get(listener_id):
            return
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE listeners SET last_seen_at = now() WHERE id = $1 AND tenant_id = $2 "
                "AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $3))",
                listener_id, tenant_id, self._interval,
            )
        self._recent.put(listener_id, True)
