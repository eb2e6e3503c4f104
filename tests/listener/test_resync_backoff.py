"""The listener's reads of the desired state back off while the control plane cannot be read
(0.5 s doubling up to the resync interval), and a notification cuts that wait short: a change
made once the API is back is read at once, not after the rest of the backoff (issue 15: a data
plane catches up as soon as the control plane returns)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from lgcp_listener.app import MIN_RETRY_SECONDS, Listener


class FlakyControlPlane:
    """Fails the first `failures` reads as an unreachable API does, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.reads: list[float] = []
        self.third_read = asyncio.Event()

    async def desired_state(self, listener_id: str, ids: Any = None) -> SimpleNamespace:
        self.reads.append(asyncio.get_running_loop().time())
        if len(self.reads) == 3:
            self.third_read.set()
        if len(self.reads) <= self.failures:
            raise httpx.ConnectError("All connection attempts failed")
        return SimpleNamespace(deployments=[])


class Controller:
    def __init__(self) -> None:
        self.full_reads = 0
        self.partial_reads = 0
        self.synced = asyncio.Event()

    def set_desired(self, deployments: list[Any]) -> None:
        self.full_reads += 1
        self.synced.set()

    def update_desired(self, ids: list[str], deployments: list[Any]) -> None:
        self.partial_reads += 1


def listener() -> Listener:
    # Only what the resync loop uses; no settings from the environment, no cluster.
    item = Listener.__new__(Listener)
    item.settings = SimpleNamespace(resync_seconds=3600)  # type: ignore[assignment]
    item._refetch, item._changed, item._reread_all, item._ready = asyncio.Event(), set(), True, False
    return item


async def test_a_notification_ends_the_backoff_after_failed_reads() -> None:
    loop = asyncio.get_running_loop()
    control_plane, controller, replica = FlakyControlPlane(failures=3), Controller(), listener()
    task = asyncio.create_task(replica._resync_loop(control_plane, controller, "l1"))  # type: ignore[arg-type]
    try:
        # Three failed reads (at 0, 0.5 and 1.5 s): the next would come at 3.5 s.
        await asyncio.wait_for(control_plane.third_read.wait(), 10)
        await asyncio.sleep(0.3)
        notified = loop.time()
        replica._notified("6f1c1f3e-8a52-4d63-a7a4-5b3a3c1f0e11")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(controller.synced.wait(), 6)
        assert controller.full_reads == 1, control_plane.reads
        assert control_plane.reads[3] - notified < 1.0, "the read waited out the backoff"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_return_of_the_control_plane_is_reported_and_everything_reread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="lgcp_listener.app")
    control_plane, controller, replica = FlakyControlPlane(failures=2), Controller(), listener()
    # A notified deployment is what fails to be read while the control plane is away.
    replica._reread_all = False
    replica._notified("6f1c1f3e-8a52-4d63-a7a4-5b3a3c1f0e11")
    task = asyncio.create_task(replica._resync_loop(control_plane, controller, "l1"))  # type: ignore[arg-type]
    try:
        # The partial read succeeds on the third try; the reread of everything follows it.
        await asyncio.wait_for(controller.synced.wait(), 20)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    back = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelno == logging.INFO, caplog.text
    assert controller.partial_reads == 1 and controller.full_reads == 1


async def test_notifications_while_reads_keep_failing_retry_no_faster_than_the_floor() -> None:
    loop = asyncio.get_running_loop()
    control_plane, controller, replica = FlakyControlPlane(failures=1000), Controller(), listener()
    task = asyncio.create_task(replica._resync_loop(control_plane, controller, "l1"))  # type: ignore[arg-type]
    try:
        started = loop.time()
        while loop.time() - started < 3:  # a notification every 50 ms, as a busy control plane sends
            replica._notified(None)
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    gaps = [b - a for a, b in zip(control_plane.reads, control_plane.reads[1:], strict=False)]
    assert gaps and min(gaps) >= MIN_RETRY_SECONDS, gaps
    assert len(control_plane.reads) <= 3 / MIN_RETRY_SECONDS + 1, control_plane.reads


async def test_without_notifications_the_backoff_still_doubles() -> None:
    control_plane, controller, replica = FlakyControlPlane(failures=4), Controller(), listener()
    task = asyncio.create_task(replica._resync_loop(control_plane, controller, "l1"))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(controller.synced.wait(), 20)
        gaps = [b - a for a, b in zip(control_plane.reads, control_plane.reads[1:], strict=False)]
        # Each wait at least its delay (a loaded machine may add to it, never take away), and
        # short of the next doubling.
        assert len(gaps) == 4 and all(d <= g < 2 * d for g, d in zip(gaps, [0.5, 1, 2, 4], strict=True)), gaps
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
