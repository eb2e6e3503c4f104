"""A short-lived in-process cache of authenticated keys.

Saves a database round trip on every request. A revocation takes effect at once in the process
that handled it and within `ttl` seconds in every other replica.

A lookup reads the database and then stores what it read; a clear() in between (a revocation)
must win, so `put` takes the generation the caller saw before its read and stores nothing when
the cache was cleared since.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """A bounded mapping whose entries expire `ttl` seconds after they were stored."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._items: OrderedDict[object, tuple[float, V]] = OrderedDict()
        self._generation = 0  # counts clear()s

    @property
    def generation(self) -> int:
        """Read before looking a value up elsewhere; passed to `put` with what was found."""
        return self._generation

    def get(self, key: object) -> V | None:
        if self._ttl <= 0:
            return None
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if time.monotonic() >= expires:
            del self._items[key]
            return None
        return value

    def put(self, key: object, value: V, generation: int | None = None) -> None:
        """Stores `value`, unless the cache was cleared since `generation` was read."""
        if self._ttl <= 0 or (generation is not None and generation != self._generation):
            return
        self._items[key] = (time.monotonic() + self._ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._generation += 1
        self._items.clear()
