"""Wake-ups from the control plane's Redis stream `lgcp:listener:{listener_id}:changes`
(`lgcp_contract.streams`).

Each entry names the deployment that changed: the caller rereads just that one. An entry
without one, or a reconnect after Redis was unreachable (entries may have been missed), asks
for a full reread. Losing entries only delays a change until the periodic resync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

import redis.asyncio as aioredis
from lgcp_contract.streams import listener_changes_stream

log = logging.getLogger(__name__)

# What XREAD answers: per stream, its entries (id, fields).
Batch = tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]


async def follow(
    redis_url: str,
    listener_id: str,
    on_change: Callable[[str | None], None],
    positioned: asyncio.Event | None = None,
    block_ms: int = 5000,
) -> None:
    """Calls `on_change(deployment_id)` per new entry (`None`: reread everything); forever.

    Reads from the stream's newest entry at start and sets `positioned` once it knows where that
    is, so a caller that reads the desired state after `positioned` misses no change between.
    """
    key, delay = listener_changes_stream(listener_id), 0.5
    last_id: bytes | str | None = None
    while True:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=block_ms / 1000 + 5)
        try:
            if last_id is None:
                newest = await client.xrevrange(key, count=1)
                last_id = newest[0][0] if newest else "0-0"
                if positioned is not None:
                    positioned.set()
            assert last_id is not None
            while True:
                batches = cast(list[Batch], await client.xread({key: last_id}, block=block_ms, count=500))
                delay = 0.5
                for _, entries in batches:
                    for entry_id, fields in entries:
                        last_id = entry_id
                        on_change((fields.get(b"deployment_id") or b"").decode() or None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notification stream unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            # Entries may be lost meanwhile (a restarted Redis, a trimmed stream): reread everything.
            on_change(None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
        finally:
            await client.aclose()
