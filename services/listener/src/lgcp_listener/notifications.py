"""Wake-ups from the control plane's Redis stream `lgcp:listener:{listener_id}:changes`.

Each entry names the deployment that changed: the caller rereads just that one. An entry
without one, or a reconnect after Redis was unreachable (entries may have been missed), asks
for a full reread. Losing entries only delays a change until the periodic resync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


def stream_key(listener_id: str) -> str:
    """The Redis stream the API writes this listener's changes to (docs/interfaces.md)."""
    return f"lgcp:listener:{listener_id}:changes"


async def follow(redis_url: str, listener_id: str, on_change: Callable[[str | None], None],
                 positioned: asyncio.Event | None = None, block_ms: int = 5000) -> None:
    """Calls `on_change(deployment_id)` per new entry (`None`: reread everything); forever.

    Reads from the stream's newest entry at start and sets `positioned` once it knows where that
    is, so a caller that reads the desired state after `positioned` misses no change between.
    """
    key, last_id, delay = stream_key(listener_id), None, 0.5
    while True:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=block_ms / 1000 + 5)
        try:
            if last_id is None:
                newest = await client.xrevrange(key, count=1)
                last_id = newest[0][0] if newest else "0-0"
                if positioned is not None:
                    positioned.set()
            while True:
                batches = await client.xread({key: last_id}, block=block_ms, count=500)
                delay = 0.5
                for _, entries in batches:
                    for entry_id, fields in entries:
                        last_id = entry_id
                        on_change((fields.get(b"deployment_id") or b"").decode() or None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis is optional for correctness: retry quietly
            log.warning("notification stream unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            # Entries may be lost meanwhile (a restarted Redis, a trimmed stream): reread everything.
            on_change(None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
        finally:
            await client.aclose()
