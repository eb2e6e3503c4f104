"""Wake-ups long-polled from the API (`GET /v2/listener-api/listeners/{id}/changes`), for a
listener that reaches only the control plane's HTTPS endpoint (a data plane in another cluster).

Same contract as the Redis follower (notifications.py): `on_change(deployment_id)` per change,
`None` for "reread everything". The cursor survives a failed poll, so a lost connection only
delays the changes the stream still holds; after any failure the first answer also asks for a
full reread, because the API's notifications may have failed meanwhile (its Redis down) and are
then in no stream at all. The periodic resync stays the backstop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from ..observability.failures import describe_failure
from .client import ControlPlane

log = logging.getLogger(__name__)

WAIT_SECONDS = 25.0  # the API's cap: under common proxy idle timeouts
# This poll is how a data plane in another cluster learns that the control plane is back after
# an outage; a failed connection costs next to nothing, so it is retried at least every 5 s (at
# 30 s, a data plane caught up 22 s after the API returned).
MAX_DELAY_SECONDS = 5.0
_pause = asyncio.sleep  # the backoff's wait (a test replaces it to read the delays)


async def follow(
    control_plane: ControlPlane,
    listener_id: str,
    on_change: Callable[[str | None], None],
    positioned: asyncio.Event | None = None,
    wait: float = WAIT_SECONDS,
) -> None:
    """Polls forever. The first answer positions the cursor and sets `positioned`, so a caller
    that reads the desired state after it misses no change between."""
    cursor: str | None = None
    delay, failed = 0.5, False
    while True:
        try:
            answer = await control_plane.changes(listener_id, cursor, wait)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # ±20 %: data planes that lost the same API do not all come back in step.
            wait_for = delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
            # Said once per outage; the retries every few seconds after it only at DEBUG.
            log.log(
                logging.DEBUG if failed else logging.WARNING,
                "wake-ups from the API unavailable (%s); retrying in %.1fs",
                describe_failure(exc),
                wait_for,
            )
            failed = True
            await _pause(wait_for)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
            continue
        if failed:
            log.info("wake-ups from the API available again")
        delay = 0.5
        first = cursor is None
        cursor = str(answer["cursor"])
        if first and positioned is not None:
            positioned.set()
        if failed or (answer.get("resync") and not first):
            on_change(None)
        failed = False
        for change in answer.get("changes") or []:
            on_change(change.get("deployment_id") or None)
