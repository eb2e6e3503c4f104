"""A work queue of deployment ids that keeps only the latest desired state of each.

Like client-go's workqueue: a key is queued at most once; a key added while it is being worked
on is worked on again afterwards (never twice at once); failures come back after a per-key
exponential backoff with jitter, so one failing deployment never blocks the others.
"""

from __future__ import annotations

import asyncio
import random
from typing import Generic, TypeVar

V = TypeVar("V")


def backoff_delay(failures: int, base: float, cap: float, rand: float) -> float:
    """Delay before retry number `failures` (1-based): base*2^(n-1), capped, times a jitter in [0.5, 1)."""
    exponent = min(failures - 1, 32)
    return min(cap, base * (2 ** exponent)) * (0.5 + rand / 2)


class WorkQueue(Generic[V]):
    """Keys with their latest value; `get()` hands out a key at most once at a time."""

    def __init__(self, base_delay: float = 0.5, max_delay: float = 60.0) -> None:
        self._latest: dict[str, V] = {}
        self._order: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._redo: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._base, self._cap = base_delay, max_delay

    def __len__(self) -> int:
        """Keys waiting to be worked on (not counting backoff timers)."""
        return self._order.qsize()

    def put(self, key: str, value: V) -> None:
        """Records `value` as the latest for `key` and queues the key (once)."""
        self._latest[key] = value
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._active:
            self._redo.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._order.put_nowait(key)

    async def get(self) -> tuple[str, V]:
        """Waits for a key and returns it with its latest value; call `done` afterwards."""
        while True:
            key = await self._order.get()
            self._queued.discard(key)
            if key in self._latest:  # else forgotten while queued
                self._active.add(key)
                return key, self._latest[key]

    def done(self, key: str, *, failed: bool) -> float | None:
        """Ends work on `key`; on failure schedules a retry and returns its delay."""
        self._active.discard(key)
        delay = None
        if failed:
            self._failures[key] = self._failures.get(key, 0) + 1
            delay = backoff_delay(self._failures[key], self._base, self._cap, random.random())
        else:
            self._failures.pop(key, None)
        if key in self._redo and key in self._latest:
            # A newer state arrived meanwhile: work on it now, backoff or not.
            self._redo.discard(key)
            self.put(key, self._latest[key])
        elif delay is not None:
            self._timers[key] = asyncio.get_running_loop().call_later(delay, self._retry, key)
        return delay

    def _retry(self, key: str) -> None:
        self._timers.pop(key, None)
        if key in self._latest:
            self.put(key, self._latest[key])

    def forget(self, key: str) -> None:
        """Drops a key entirely (its deployment is gone)."""
        self._latest.pop(key, None)
        self._redo.discard(key)
        self._failures.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def failures(self, key: str) -> int:
        """Consecutive failures of `key` (0 after a success)."""
        return self._failures.get(key, 0)
