"""Change notifications to listeners on a Redis stream per listener (docs/interfaces.md).

Best effort by design: the write is already committed in Postgres when we notify, and the
listener's periodic resync picks up anything missed, so a Redis outage must never fail a write.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis.asyncio as aioredis
from lgcp_contract.streams import listener_changes_stream
from redis.exceptions import RedisError

from ..observability.metrics import NOTIFICATIONS

log = logging.getLogger(__name__)

STREAM_MAXLEN = 1000
# After a failure, skip Redis for a moment so an outage does not add a timeout to every write.
BACKOFF_SECONDS = 2.0


class Notifier:
    """Sends `{"deployment_id", "change"}` entries; never raises."""

    def __init__(self, redis_url: str | None, timeout: float) -> None:
        self._client: aioredis.Redis | None = (
            aioredis.Redis.from_url(
                redis_url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry_on_timeout=False,
            )
            if redis_url
            else None
        )
        self._skip_until = 0.0

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def notify(self, listener_id: uuid.UUID, deployment_id: uuid.UUID, change: str) -> bool:
        """XADDs one entry; returns False (and logs) when Redis is absent or unreachable."""
        if self._client is None or time.monotonic() < self._skip_until:
            NOTIFICATIONS.labels("skipped").inc()
            return False
        try:
            await self._client.xadd(
                listener_changes_stream(str(listener_id)),
                {"deployment_id": str(deployment_id), "change": change},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        except (RedisError, OSError) as exc:
            self._skip_until = time.monotonic() + BACKOFF_SECONDS
            log.warning(
                "notification not sent; the listener's resync will catch up",
                extra={"listener_id": str(listener_id), "error": type(exc).__name__},
            )
            NOTIFICATIONS.labels("failed").inc()
            return False
        NOTIFICATIONS.labels("sent").inc()
        return True

    async def ping(self) -> bool:
        """True when Redis answers; used by /readyz."""
        if self._client is None:
            return False
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
