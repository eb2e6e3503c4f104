"""Background upkeep while the API runs: expired Idempotency-Key rows are purged hourly."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from .repository import purge_expired

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 3600


async def purge_idempotency_keys_forever(pool: asyncpg.Pool) -> None:
    """Purges expired keys now and then every hour; every replica may run it (a DELETE by age
    is harmless twice). A failure is logged and retried at the next round."""
    while True:
        try:
            async with pool.acquire() as conn:
                purged = await purge_expired(conn)
            if purged:
                log.info("purged expired idempotency keys", extra={"count": purged})
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("idempotency key purge failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
