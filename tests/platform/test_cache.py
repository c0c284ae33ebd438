"""Per-process caches: one per slot, declared by the module that owns the data."""

from __future__ import annotations

import time

import pytest

from guildbank.platform.cache import Caches, CacheSlot

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
