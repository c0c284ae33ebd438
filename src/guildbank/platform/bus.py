"""The event bus: domain events are published here only after their transaction commits.

Subscribers (the SSE stream, caches of other processes, the bot) receive every event of the
guilds they asked for. A slow subscriber drops its oldest events rather than slowing writers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

__all__ = ["Event", "EventBus", "InProcessBus", "Subscription"]

SUBSCRIBER_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    """A published domain event; ``id`` is its position in the event log (the SSE id)."""

    name: str
    guild_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None
    # The JSON form, serialised once however many subscribers and processes receive it.
    wire: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.wire:
            object.__setattr__(self, "wire", orjson.dumps(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "guild_id": self.guild_id,
            "data": self.data,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_wire(cls, wire: bytes) -> Event:
        """The event another process published (its JSON kept as received)."""
        data = orjson.loads(wire)
        return cls(
            name=data["name"],
            guild_id=data["guild_id"],
            data=data["data"],
            at=datetime.fromisoformat(data["at"]),
            id=data.get("id"),
            wire=wire,
        )


class Subscription:
    """A bounded queue of events matching a guild/event-name filter.

    When the queue overflows, the oldest event is dropped and ``overflowed`` is set, so a
    consumer that must miss nothing (the SSE stream) can catch up from the event log.
    """

    def __init__(self, guilds: frozenset[str] | None, names: frozenset[str] | None) -> None:
        self.guilds = guilds
        self.names = names
        self.queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.overflowed = False

    def wants(self, event: Event) -> bool:
        return (self.guilds is None or event.guild_id in self.guilds) and (
            self.names is None or event.name in self.names
        )

    def offer(self, event: Event) -> None:
        if not self.wants(event):
            return
        if self.queue.full():
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)


class EventBus(Protocol):
    async def publish(self, events: Iterable[Event]) -> None: ...

    def subscribe(
        self, *, guilds: Iterable[str] | None = None, names: Iterable[str] | None = None
    ) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def close(self) -> None: ...


class InProcessBus:
    """Delivers events to subscribers of this process only (the embedded mode)."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    async def publish(self, events: Iterable[Event]) -> None:
        self.deliver(events)

    def missed(self) -> None:
        """Tell every subscriber that events may have passed it by (a lost connection)."""
        for subscription in tuple(self._subscriptions):
            subscription.overflowed = True

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            for subscription in tuple(self._subscriptions):
                subscription.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, *, guilds: Iterable[str] | None = None, names: Iterable[str] | None = None
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(
            frozenset(guilds) if guilds is not None else None,
            frozenset(names) if names is not None else None,
        )
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def close(self) -> None:
        self._subscriptions.clear()
