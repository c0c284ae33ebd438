"""Per-process caches: one per slot, declared by the module that owns the data."""

from __future__ import annotations

import time

import pytest

from guildbank.platform.cache import Caches, CacheSlot, LruCache

NAMES: CacheSlot[str, str] = CacheSlot("names")
SIZES: CacheSlot[str, int] = CacheSlot("sizes")


def test_each_slot_has_its_own_cache() -> None:
    caches = Caches(ttl_seconds=60)
    caches[NAMES].put("a", "Alice")
    caches[SIZES].put("a", 3)
    assert (caches[NAMES].get("a"), caches[SIZES].get("a")) == ("Alice", 3)
    assert caches[NAMES] is caches[NAMES]


def test_clear_forgets_every_slot() -> None:
    caches = Caches(ttl_seconds=60)
    caches[NAMES].put("a", "Alice")
    caches[SIZES].put("a", 3)
    caches.clear()
    assert (caches[NAMES].get("a"), caches[SIZES].get("a")) == (None, None)


def test_entries_expire_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    caches = Caches(ttl_seconds=30)
    caches[NAMES].put("a", "Alice")
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 29)
    assert caches[NAMES].get("a") == "Alice"
    monkeypatch.setattr(time, "monotonic", lambda: now + 31)
    assert caches[NAMES].get("a") is None


def test_an_lru_cache_forgets_the_least_recently_used_entry_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_an_lru_cache_of_size_zero_holds_nothing() -> None:
    cache: LruCache[str, int] = LruCache(0)
    cache.put("a", 1)
    assert (cache.get("a"), len(cache)) == (None, 0)
    with pytest.raises(ValueError, match="zero or more"):
        LruCache(-1)


def test_a_slot_holds_at_most_its_size_and_drops_the_oldest_write_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caches = Caches(ttl_seconds=60, size=2)
    slot = caches[NAMES]
    slot.put("a", "Alice")
    slot.put("b", "Bob")
    slot.put("a", "Alice again")  # rewritten: now the newest
    slot.put("c", "Carol")
    assert (slot.get("a"), slot.get("b"), slot.get("c")) == ("Alice again", None, "Carol")
    assert len(slot) == 2
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 61)
    assert slot.get("a") is None
    assert len(slot) == 1  # an expired entry read is dropped, not kept until evicted
