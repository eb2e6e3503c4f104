"""Runtime log entries as the listener ships them (POST /v2/listener-api/.../logs), for the suites
that feed the API's log store (tests/api, tests/ui)."""

from __future__ import annotations

import datetime as dt

# Recent, since the API drops entries past its retention (a week).
T0 = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)


def entry(second: int, message: str, level: str = "INFO", origin: str = "container", revision_id=None) -> dict:
    """One entry `second` seconds after T0."""
    return {
        "timestamp": (T0 + dt.timedelta(seconds=second)).isoformat(),
        "level": level,
        "origin": origin,
        "message": message,
        "revision_id": revision_id,
    }
