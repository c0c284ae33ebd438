"""Small per-process caches whose entries expire, the safety net behind bus invalidation.

``Services.caches`` holds one cache per slot. A slot is declared once by the module that owns
the data (``features/guilds/queries.py`` declares the guild settings' one), so the platform
stores every feature's cache without knowing any feature's types.
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

__all__ = ["CacheSlot", "Caches", "TtlCache"]


K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A small per-process cache whose entries expire, as a safety net behind event invalidation."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)

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
    """The caches of one process, each created on first use with the same expiry."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._caches: dict[CacheSlot[Any, Any], TtlCache[Any, Any]] = {}

    def __getitem__(self, slot: CacheSlot[K, V]) -> TtlCache[K, V]:
        cache = self._caches.get(slot)
        if cache is None:
            cache = self._caches[slot] = TtlCache(self.ttl)
        return cache

    def clear(self) -> None:
        """Forget every entry of every cache (tests read the database again after this)."""
        for cache in self._caches.values():
            cache.clear()
