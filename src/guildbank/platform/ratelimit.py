"""Moving-window rate limits shared by every process: in memory, or in Redis when scaled.

One place builds the ``limits`` limiter so the services (balance changes, through the unit of
work) and the dashboard (login attempts) count the same way and close their Redis
connections the same way.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as redis
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from guildbank.core.errors import RateLimited

__all__ = ["SharedLimiter"]


class SharedLimiter:
    """A lazily built ``MovingWindowRateLimiter`` (memory storage needs a running loop)."""

    def __init__(self, redis_url: str = "") -> None:
        self.redis_url = redis_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._pool: redis.ConnectionPool | None = None

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        if self._limiter is None:
            storage: Storage
            if self.redis_url:
                # redis-py (already a dependency) rather than limits' default client, coredis.
                self._pool = redis.ConnectionPool.from_url(self.redis_url)
                options: dict[str, Any] = {"connection_pool": self._pool}  # typed as str by limits
                storage = RedisStorage(
                    f"async+{self.redis_url}", implementation="redispy", **options
                )
            else:
                storage = MemoryStorage()
            self._limiter = MovingWindowRateLimiter(storage)
        return self._limiter

    async def hit_per_minute(self, per_minute: int, *identifiers: str) -> None:
        """Count one hit against ``identifiers``; RateLimited beyond ``per_minute`` hits in
        the last minute. A limit of 0 (or less) is off and counts nothing."""
        if per_minute <= 0:
            return
        item = RateLimitItemPerMinute(per_minute)
        limiter = self.limiter
        if not await limiter.hit(item, *identifiers):
            stats = await limiter.get_window_stats(item, *identifiers)
            raise RateLimited(retry_after_seconds=max(1, int(stats.reset_time - time.time()) + 1))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        self._limiter = None
