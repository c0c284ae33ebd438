"""A small per-process cache whose entries expire, the safety net behind bus invalidation."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

__all__ = ["TtlCache"]


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
