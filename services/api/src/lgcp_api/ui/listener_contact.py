"""Which listener runs a deployment and whether it has been seen lately, as the deployment pages
show it: the listener's compute_id (linking to its row on the listeners page) and its contact,
from the `last_seen_at` the v2 API gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

# A listener calls the API (its desired state) at least once per resync, 30 s by default (the
# chart's listener.resyncSeconds), or every long poll (at most 25 s) when woken over HTTP; the
# API records a call at most every 5 s (listeners/contact.py), and failed reads retry backing off
# to the resync interval. So a running listener's last_seen_at is under ~35 s old; two minutes
# lets it miss a few resyncs (a leader handover, a slow API) before it is shown as not seen. A
# listener given a resync interval near or above two minutes will show as not seen between calls.
STALE_AFTER = dt.timedelta(minutes=2)


def _age(delta: dt.timedelta) -> str:
    """A short age: 12 s, 4 min, 2 h, 3 d (rounded down)."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def contact(listener: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The listener as the pages show it: id, compute_id, and its contact `state` ("recent",
    "stale" or "never"), written out in `text`, with `seen_at` (ISO, or None)."""
    seen_at: str | None = listener.get("last_seen_at")
    if seen_at is None:
        state, text = "never", "never seen"
    else:
        age = now - dt.datetime.fromisoformat(seen_at)
        if age > STALE_AFTER:
            state, text = "stale", f"not seen for {_age(age)}"
        else:
            state, text = "recent", f"seen {_age(age)} ago"
    return {
        "id": listener["id"],
        "compute_id": listener["compute_id"],
        "state": state,
        "text": text,
        "seen_at": seen_at,
        "stale_after": _age(STALE_AFTER),
    }


def by_id(listeners: list[dict[str, Any]], now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Each listener's contact by its id."""
    return {listener["id"]: contact(listener, now) for listener in listeners}
