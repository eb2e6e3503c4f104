"""Wake-ups from the control plane's Redis stream `lgcp:listener:{listener_id}:changes`.

Any entry means "something changed": the caller refetches the desired state. Losing entries
(Redis down, restarts) only delays a change until the periodic resync.
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


async def follow(redis_url: str, listener_id: str, on_change: Callable[[], None], block_ms: int = 5000) -> None:
    """Calls `on_change` after each batch of new entries; reconnects with backoff, forever."""
    key, last_id, delay = stream_key(listener_id), "$", 0.5
    while True:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=block_ms / 1000 + 5)
        try:
            while True:
                batches = await client.xread({key: last_id}, block=block_ms, count=500)
                delay = 0.5
                for _, entries in batches:
                    if entries:
                        last_id = entries[-1][0]
                        on_change()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis is optional for correctness: retry quietly
            log.warning("notification stream unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            # Entries written while we were away are covered by the resync: restart from new ones.
            last_id = "$"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
        finally:
            await client.aclose()
