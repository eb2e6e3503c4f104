"""The in-process cache of checked keys (pure logic; the clock is patched)."""

from __future__ import annotations

from lgcp_api.kit import ttl_cache as cache_module
from lgcp_api.kit.ttl_cache import TtlCache


def test_entries_expire_after_the_ttl(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    cache: TtlCache[str] = TtlCache(ttl=5)
    cache.put("k", "v")
    now[0] = 104.9
    assert cache.get("k") == "v"
    now[0] = 105.0
    assert cache.get("k") is None


def test_zero_ttl_disables_the_cache():
    cache: TtlCache[str] = TtlCache(ttl=0)
    cache.put("k", "v")
    assert cache.get("k") is None


def test_size_is_bounded_dropping_the_oldest():
    cache: TtlCache[int] = TtlCache(ttl=60, max_entries=2)
    for i in range(3):
        cache.put(i, i)
    assert [cache.get(i) for i in range(3)] == [None, 1, 2]


def test_a_put_read_before_a_clear_stores_nothing():
    cache: TtlCache[str] = TtlCache(ttl=60)
    seen = cache.generation
    cache.clear()  # a revocation while the lookup was reading
    cache.put("k", "stale", seen)
    assert cache.get("k") is None
    cache.put("k", "fresh", cache.generation)
    assert cache.get("k") == "fresh"
