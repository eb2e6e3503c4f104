"""A work queue of deployment ids that keeps only the latest desired state of each.

Like client-go's workqueue: a key is queued at most once; a key added while it is being worked
on is worked on again afterwards (never twice at once); failures come back after a per-key
exponential backoff with jitter, so one failing deployment never blocks the others. Urgent keys
(a change someone asked for) are handed out before the others (status follow-ups, resyncs).
"""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Generic, TypeVar

V = TypeVar("V")


def backoff_delay(failures: int, base: float, cap: float, rand: float) -> float:
    """Delay before retry number `failures` (1-based): base*2^(n-1), capped, times a jitter in [0.5, 1)."""
    exponent = min(failures - 1, 32)
    return min(cap, base * (2.0**exponent)) * (0.5 + rand / 2)


class WorkQueue(Generic[V]):
    """Keys with their latest value; `get()` hands out a key at most once at a time."""

    def __init__(self, base_delay: float = 0.5, max_delay: float = 60.0) -> None:
        self._latest: dict[str, V] = {}
        # (0 urgent | 1 normal, arrival, key); a key promoted to urgent leaves a stale entry behind.
        self._order: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue()
        self._arrival = itertools.count()
        self._queued: dict[str, int] = {}  # key -> the priority it is queued at
        self._active: set[str] = set()
        self._redo: dict[str, int] = {}  # keys put while active -> their best priority
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._base, self._cap = base_delay, max_delay

    def __len__(self) -> int:
        """Keys waiting to be worked on (not counting backoff timers)."""
        return len(self._queued)

    def put(self, key: str, value: V, *, urgent: bool = False) -> None:
        """Records `value` as the latest for `key` and queues the key (once, at its most urgent)."""
        priority = 0 if urgent else 1
        self._latest[key] = value
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._active:
            self._redo[key] = min(priority, self._redo.get(key, priority))
        elif priority < self._queued.get(key, 2):
            self._queued[key] = priority
            self._order.put_nowait((priority, next(self._arrival), key))

    async def get(self) -> tuple[str, V]:
        """Waits for a key and returns it with its latest value; call `done` afterwards."""
        while True:
            priority, _, key = await self._order.get()
            if self._queued.get(key) != priority:
                continue  # a stale entry: the key was promoted, or already handed out
            del self._queued[key]
            if key in self._latest:  # else forgotten while queued
                self._active.add(key)
                return key, self._latest[key]

    def done(self, key: str, *, failed: bool, again_after: float | None = None) -> float | None:
        """Ends work on `key` and returns when it comes back, if it does: on failure after the
        key's backoff; else after `again_after` seconds when given (0: at once, behind the
        urgent keys). A newer value put meanwhile brings it back at once either way."""
        self._active.discard(key)
        delay = None
        if failed:
            self._failures[key] = self._failures.get(key, 0) + 1
            delay = backoff_delay(self._failures[key], self._base, self._cap, random.random())  # noqa: S311 - jitter, not a secret
        else:
            self._failures.pop(key, None)
            delay = again_after
        redo = self._redo.pop(key, None)
        if redo is not None and key in self._latest:
            # A newer state arrived meanwhile: work on it now, backoff or not.
            self.put(key, self._latest[key], urgent=redo == 0)
        elif delay is not None and delay <= 0 and key in self._latest:
            self.put(key, self._latest[key])
        elif delay is not None:
            self._timers[key] = asyncio.get_running_loop().call_later(delay, self._retry, key)
        return delay

    def _retry(self, key: str) -> None:
        self._timers.pop(key, None)
        if key in self._latest:
            self.put(key, self._latest[key])

    def forget(self, key: str) -> None:
        """Drops a key entirely (its deployment is gone): queued or not, it is no longer counted."""
        self._latest.pop(key, None)
        # Its entry in _order goes stale and is skipped by get() (its priority is no longer queued).
        self._queued.pop(key, None)
        self._redo.pop(key, None)
        self._failures.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def failures(self, key: str) -> int:
        """Consecutive failures of `key` (0 after a success)."""
        return self._failures.get(key, 0)
