"""Small per-process caches whose entries expire, the safety net behind bus invalidation.

``Services.caches`` holds one cache per slot. A slot is declared once by the module that owns
the data (``features/guilds/queries.py`` declares the guild settings' one), so the platform
stores every feature's cache without knowing any feature's types.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Generic, TypeVar

__all__ = ["DEFAULT_SLOT_SIZE", "CacheSlot", "Caches", "LruCache", "TtlCache"]


K = TypeVar("K")
V = TypeVar("V")


# Entries a slot holds at most (the settings of this many guilds in use at once); beyond it
# the least recently written entry goes first, so a process serving many guilds stays bounded.
DEFAULT_SLOT_SIZE = 10_000


class TtlCache(Generic[K, V]):
    """A small per-process cache whose entries expire, as a safety net behind event
    invalidation, and that holds at most ``size`` of them."""

    def __init__(self, ttl_seconds: float, size: int = DEFAULT_SLOT_SIZE) -> None:
        self.ttl = ttl_seconds
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            del self._items[key]
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def discard(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class CacheSlot(Generic[K, V]):
    """Names one cache of ``Caches`` and the keys and values it holds."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"CacheSlot({self.name!r})"


class Caches:
    """The caches of one process, each created on first use with the same expiry and bound."""

    def __init__(self, ttl_seconds: float, size: int = DEFAULT_SLOT_SIZE) -> None:
        self.ttl = ttl_seconds
        self.size = size
        self._caches: dict[CacheSlot[Any, Any], TtlCache[Any, Any]] = {}

    def __getitem__(self, slot: CacheSlot[K, V]) -> TtlCache[K, V]:
        cache = self._caches.get(slot)
        if cache is None:
            cache = self._caches[slot] = TtlCache(self.ttl, self.size)
        return cache

    def clear(self) -> None:
        """Forget every entry of every cache (tests read the database again after this)."""
        for cache in self._caches.values():
            cache.clear()


class LruCache(Generic[K, V]):
    """At most ``size`` entries; a put beyond that evicts the least recently used one.

    For values that never go stale (an account's id), where only memory needs a bound. Reads
    and writes are O(1) and happen on the event loop only, so no lock is needed.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            msg = f"an LRU cache holds zero or more entries, not {size}"
            raise ValueError(msg)
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        if self.size == 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def discard(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
