"""A listener woken over HTTP retries a failed poll with a backoff capped at 5 s: the poll is how
a data plane in another cluster learns that the control plane is back (issue 15)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from lgcp_listener.control_plane import http_wakeups


class Unreachable:
    """`changes` fails `failures` times, then answers once, then the test ends the loop."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def changes(self, listener_id: str, cursor: str | None, wait: float) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise httpx.ConnectError("All connection attempts failed")
        if self.calls == self.failures + 1:
            return {"cursor": "1-0", "changes": []}
        raise asyncio.CancelledError


async def test_failed_polls_back_off_to_five_seconds_and_the_first_answer_rereads_everything(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lgcp_listener.control_plane.http_wakeups")
    waited: list[float] = []

    async def no_wait(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(http_wakeups, "_pause", no_wait)
    changes: list[str | None] = []
    with pytest.raises(asyncio.CancelledError):
        await http_wakeups.follow(Unreachable(failures=8), "l1", changes.append)  # type: ignore[arg-type]
    steps = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert len(waited) == len(steps), waited
    # Each step with up to 20 % of jitter either way, so data planes do not retry in step.
    assert all(0.8 * d <= w <= 1.2 * d for w, d in zip(waited, steps, strict=True)), waited
    assert len(set(waited)) > 4, waited
    assert changes == [None]  # after an outage: reread everything
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, "one warning per outage, the retries at DEBUG"
    assert any("available again" in r.getMessage() for r in caplog.records)
