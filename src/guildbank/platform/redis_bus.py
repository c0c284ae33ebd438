"""The Redis event bus: events cross processes (web workers, bot shards) through pub/sub.

Each process publishes to one Redis channel and runs one reader that hands every event,
its own included, to the local subscribers. So a subscriber sees the same stream whether
the event was produced here or in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

import redis.asyncio as redis
import structlog

from guildbank.platform.bus import Event, InProcessBus, Subscription

__all__ = ["CHANNEL", "RedisBus"]

CHANNEL = "guildbank:events"
RECONNECT_DELAY_SECONDS = 1.0
TIMEOUT_SECONDS = 2.0
log = structlog.get_logger(__name__)


class RedisBus:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.channel = channel
        # Bounded waits: a relay pass holds its cursor lock while it publishes here.
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        # The reader waits for messages indefinitely, so it has its own client without a
        # read timeout (a health check notices a dead connection instead).
        self._listener = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, health_check_interval=30
        )
        self._local = InProcessBus()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, events: Iterable[Event]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(self.channel, event.wire)
            await pipe.execute()

    async def start(self) -> None:
        """Start the reader (idempotent); returns once the channel subscription is live."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        await self._ready.wait()

    async def _read_forever(self) -> None:
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    if self._ready.is_set():
                        # Back after a lost connection: what was published meanwhile never
                        # reached us; subscribers catch up from the event log.
                        self._local.missed()
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._local.deliver([Event.from_wire(message["data"])])
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as error:
                log.warning("redis bus reader lost its connection; reconnecting", error=repr(error))
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, *, guilds: Iterable[str] | None = None, names: Iterable[str] | None = None
    ) -> AsyncIterator[Subscription]:
        await self.start()
        async with self._local.subscribe(guilds=guilds, names=names) as subscription:
            yield subscription

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._local.close()
        await self._redis.aclose()
        await self._listener.aclose()
