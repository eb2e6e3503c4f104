"""The listener's shutdown is bounded (issue 14): a replica that lost its lease must exit so that
Kubernetes restarts it as a standby, even when one of its tasks survives a cancellation or one of
its closes never ends. Pure logic: the tasks and closes here are stand-ins."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from lgcp_listener import app as listener_app


async def _stubborn(swallow: int | None, released: asyncio.Event) -> None:
    """Swallows `swallow` cancellations (None: every one, until `released` is set)."""
    swallowed = 0
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if released.is_set() or (swallow is not None and swallowed >= swallow):
                raise
            swallowed += 1


async def test_a_task_that_swallows_one_cancellation_is_stopped_by_the_next_round() -> None:
    released = asyncio.Event()
    task = asyncio.create_task(_stubborn(1, released), name="swallows-once")
    await asyncio.sleep(0)
    left = await asyncio.wait_for(listener_app.stop_tasks([task], seconds=1.5, rounds=3), 5)
    assert left == []
    assert task.cancelled()


async def test_a_task_that_never_stops_is_abandoned_within_the_bound_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released = asyncio.Event()
    stubborn = asyncio.create_task(_stubborn(None, released), name="never-stops")
    polite = asyncio.create_task(asyncio.sleep(3600), name="polite")
    await asyncio.sleep(0)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.ERROR, logger="lgcp_listener.app"):
            left = await asyncio.wait_for(listener_app.stop_tasks([stubborn, polite], seconds=0.6, rounds=3), 5)
        elapsed = time.monotonic() - started
        assert left == [stubborn]
        assert polite.cancelled()
        assert 0.5 <= elapsed < 2, elapsed
        assert "task never-stops did not stop when cancelled" in caplog.text
        assert "_stubborn" in caplog.text  # where it waits, to find the cause
    finally:
        released.set()
        stubborn.cancel()
        await asyncio.gather(stubborn, return_exceptions=True)


async def test_a_close_that_never_ends_is_abandoned_within_its_bound(caplog: pytest.LogCaptureFixture) -> None:
    released = asyncio.Event()
    closes: list[asyncio.Task[None]] = []

    async def hangs() -> None:
        closes.append(asyncio.current_task())  # type: ignore[arg-type]
        await _stubborn(None, released)

    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="lgcp_listener.app"):
            await asyncio.wait_for(listener_app._closing("the database mode", hangs, seconds=0.5), 5)
        assert 0.4 <= time.monotonic() - started < 2
        assert "closing the database mode did not finish within 0.5s; abandoned" in caplog.text
        assert "_stubborn" in caplog.text
    finally:
        released.set()
        for task in closes:
            task.cancel()
        await asyncio.gather(*closes, return_exceptions=True)


async def test_a_close_that_fails_is_logged_and_the_shutdown_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("pool already closed")

    with caplog.at_level(logging.WARNING, logger="lgcp_listener.app"):
        await listener_app._closing("the database mode", fails, seconds=1)
    assert "closing the database mode failed" in caplog.text
