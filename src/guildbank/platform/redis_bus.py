"""The Redis event bus: events cross processes (web workers, bot shards) through pub/sub.

Each process publishes to one Redis channel and runs one reader that hands every event,
its own included, to the local subscribers. So a subscriber sees the same stream whether
the event was produced here or in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import orjson
import redis.asyncio as redis
import structlog

from guildbank.platform.bus import Event, InProcessBus, Subscription

__all__ = ["CHANNEL", "RedisBus"]

CHANNEL = "guildbank:events"
RECONNECT_DELAY_SECONDS = 1.0
log = structlog.get_logger(__name__)


def encode(event: Event) -> bytes:
    return orjson.dumps(event.to_json())


def decode(raw: bytes) -> Event:
    data = orjson.loads(raw)
    return Event(
        name=data["name"],
        guild_id=data["guild_id"],
        data=data["data"],
        at=datetime.fromisoformat(data["at"]),
    )


class RedisBus:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.channel = channel
        self._redis = redis.Redis.from_url(url)
        self._local = InProcessBus()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, events: Iterable[Event]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(self.channel, encode(event))
            await pipe.execute()

    async def start(self) -> None:
        """Start the reader (idempotent); returns once the channel subscription is live."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        await self._ready.wait()

    async def _read_forever(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._local.deliver([decode(message["data"])])
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
