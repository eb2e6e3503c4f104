"""A listener's changes read from its Redis stream for the long-poll wake-up endpoint
(`GET /v2/listener-api/listeners/{id}/changes`), so a listener in another cluster needs only
HTTPS to the control plane, not its Redis.

The stream is the one the notifier writes (`lgcp_contract.streams`); its entry ids are the
cursor. An answer says `resync` when entries after the cursor may be gone (trimmed past it, or
the stream lost with a Redis restart): the listener then rereads its whole desired state.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import cast

import redis.asyncio as aioredis
from lgcp_contract.streams import listener_changes_stream
from redis.exceptions import RedisError, ResponseError

# The longest a request waits: under the 30 to 60 s idle timeouts of common proxies and ingresses.
MAX_WAIT_SECONDS = 25.0
MAX_ENTRIES = 500  # per answer; the rest comes with the next poll
START = "0-0"  # before any entry
# What XREAD answers (decoded): per stream, its entries (id, fields).
Batches = list[tuple[str, list[tuple[str, dict[str, str]]]]]


class FeedUnavailable(Exception):
    """Redis is not configured or cannot be reached (the router answers 503)."""


@dataclasses.dataclass(frozen=True)
class Change:
    deployment_id: str | None
    change: str | None


@dataclasses.dataclass(frozen=True)
class Changes:
    cursor: str
    changes: list[Change]
    resync: bool


def _id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class ChangeFeed:
    """Reads listeners' streams with blocking XREADs on a client of its own: the notifier's
    client has a sub-second socket timeout, right for writes, too short for a 25 s wait."""

    def __init__(self, redis_url: str | None, connect_timeout: float) -> None:
        self._client: aioredis.Redis | None = (
            aioredis.Redis.from_url(
                redis_url,
                decode_responses=True,
                socket_connect_timeout=connect_timeout,
                # The blocking read ends by itself after the wait; this only catches a dead socket.
                socket_timeout=MAX_WAIT_SECONDS + 5 + connect_timeout,
                retry_on_timeout=False,
            )
            if redis_url
            else None
        )

    async def read(self, listener_id: uuid.UUID, after: str | None, wait: float) -> Changes:
        """Entries after `after`, waiting up to `wait` seconds for the first; without `after`, no
        entries and the newest id as the cursor (the caller then reads its desired state)."""
        if self._client is None:
            raise FeedUnavailable("the control plane has no Redis configured (LGCP_REDIS_URL)")
        key = listener_changes_stream(str(listener_id))
        try:
            if after is None:
                return Changes(await self._newest(key), [], resync=True)
            if await self._lost_after(key, after):
                return Changes(await self._newest(key), [], resync=True)
            block = int(min(wait, MAX_WAIT_SECONDS) * 1000)
            # BLOCK 0 would wait forever: no wait is a plain read.
            batches = cast(Batches, await self._client.xread({key: after}, count=MAX_ENTRIES, block=block or None))
        except (RedisError, OSError) as exc:
            raise FeedUnavailable(f"Redis is unreachable ({type(exc).__name__})") from exc
        cursor, changes = after, []
        for _, entries in batches or []:
            for entry_id, fields in entries:
                cursor = entry_id
                changes.append(Change(fields.get("deployment_id") or None, fields.get("change") or None))
        return Changes(cursor, changes, resync=False)

    async def _newest(self, key: str) -> str:
        assert self._client is not None
        newest = await self._client.xrevrange(key, count=1)
        return str(newest[0][0]) if newest else START

    async def _lost_after(self, key: str, after: str) -> bool:
        """Whether entries after `after` may have been dropped: the stream is gone or younger
        than the cursor (Redis lost its data), or it was trimmed (MAXLEN) and now starts after
        the cursor. Trimming removes the oldest entries only, so when the cursor's own entry is
        still there nothing after it was lost; once it is gone, assume the worst (a resync too
        many is only a reread)."""
        assert self._client is not None
        try:
            info = await self._client.xinfo_stream(key)
        except ResponseError:  # no such key
            return after != START
        cursor, newest = _id(after), _id(str(info["last-generated-id"]))
        if newest < cursor:
            return True
        added = info.get("entries-added")  # Redis 7 and later; older ones cannot tell: assume trimmed
        if added is not None and int(added) <= int(info["length"]):
            return False  # never trimmed
        first = info.get("first-entry")
        if not first:
            return cursor < newest
        return cursor < _id(str(first[0]))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
