"""Moving-window rate limits shared by every process: in memory, or in Redis when scaled.

One place builds the ``limits`` limiter so the services (balance changes, through the unit of
work) and the dashboard (login attempts) count the same way and close their Redis
connections the same way.

When Redis cannot be reached, limits are counted per process instead (logged once per
outage) and Redis is tried again a few seconds later: an outage loosens the limit for a
moment, it never turns a request into an error.

``limits`` and ``redis`` are imported when the first hit is counted: the CLI's commands build
services without ever limiting anything, and those imports are a good part of their start.
"""

# ruff: noqa: PLC0415 (limits and redis are imported on first use: see above)

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog

from guildbank.core.errors import RateLimited

if TYPE_CHECKING:
    import redis.asyncio as redis
    from limits.aio.strategies import MovingWindowRateLimiter
    from limits.errors import StorageError

__all__ = ["SharedLimiter"]

REDIS_RETRY_SECONDS = 5.0
log = structlog.get_logger(__name__)


class SharedLimiter:
    """A lazily built ``MovingWindowRateLimiter`` (memory storage needs a running loop)."""

    def __init__(self, redis_url: str = "") -> None:
        self.redis_url = redis_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._pool: redis.ConnectionPool | None = None
        # The per-process stand-in while Redis is unreachable, and when to try Redis again.
        self._local: MovingWindowRateLimiter | None = None
        self._redis_retry_at: float | None = None

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        if self._limiter is None:
            from limits.aio.storage import MemoryStorage, RedisStorage, Storage
            from limits.aio.strategies import MovingWindowRateLimiter

            storage: Storage
            if self.redis_url:
                import redis.asyncio as redis

                # redis-py (already a dependency) rather than limits' default client, coredis.
                self._pool = redis.ConnectionPool.from_url(self.redis_url)
                options: dict[str, Any] = {"connection_pool": self._pool}  # typed as str by limits
                storage = RedisStorage(
                    f"async+{self.redis_url}",
                    implementation="redispy",
                    wrap_exceptions=True,
                    **options,
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
        from limits import RateLimitItemPerMinute
        from limits.errors import StorageError

        item = RateLimitItemPerMinute(per_minute)
        limiter = self._current()
        try:
            allowed = await limiter.hit(item, *identifiers)
        except StorageError as error:
            limiter = self._fail_over(error)
            allowed = await limiter.hit(item, *identifiers)
        else:
            if self._redis_retry_at is not None and limiter is not self._local:
                log.info("rate limits are shared through Redis again")
                self._redis_retry_at = None
        if not allowed:
            stats = await limiter.get_window_stats(item, *identifiers)
            raise RateLimited(retry_after_seconds=max(1, int(stats.reset_time - time.time()) + 1))

    def _current(self) -> MovingWindowRateLimiter:
        """Redis's limiter, unless it failed moments ago."""
        if self._redis_retry_at is not None and time.monotonic() < self._redis_retry_at:
            return self._fail_over(None)
        return self.limiter

    def _fail_over(self, error: StorageError | None) -> MovingWindowRateLimiter:
        """The per-process limiter, used until Redis is tried again."""
        if error is not None:
            if not self.redis_url:
                raise error
            if self._redis_retry_at is None:
                log.warning(
                    "Redis unreachable: rate limits are counted per process for now",
                    error=repr(error.storage_error),
                )
            self._redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if self._local is None:
            from limits.aio.storage import MemoryStorage
            from limits.aio.strategies import MovingWindowRateLimiter

            self._local = MovingWindowRateLimiter(MemoryStorage())
        return self._local

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        self._limiter = None
