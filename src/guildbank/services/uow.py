"""The unit of work: one database transaction per request, command or job.

The adapter opens it and commits once at the end (or lets it roll back); services never
commit. Events collected during the unit are published only after the commit succeeds,
and caches are only filled from committed state (``after_commit``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from guildbank.db.engine import READ_ONLY
from guildbank.domain.economy import EconomyConfig
from guildbank.events.bus import Event, EventBus

__all__ = ["Services", "TtlCache", "UnitOfWork", "unit_of_work", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


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


@dataclass
class Services:
    """What every unit of work needs: the database, the bus, the clock and shared caches."""

    engine: AsyncEngine
    bus: EventBus
    clock: Callable[[], datetime] = utcnow
    config_cache_seconds: float = 30.0
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    configs: TtlCache[str, EconomyConfig] = field(init=False)
    # Account ids never change once committed, so this cache needs no expiry.
    account_ids: dict[tuple[str, str], int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.configs = TtlCache(self.config_cache_seconds)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


class UnitOfWork:
    def __init__(self, services: Services, session: AsyncSession) -> None:
        self.services = services
        self.session = session
        self.events: list[Event] = []
        self._after_commit: list[Callable[[], None]] = []
        self.now = services.clock()

    def emit(self, name: str, guild_id: str, **data: Any) -> None:
        self.events.append(Event(name=name, guild_id=guild_id, data=data, at=self.now))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def rollback(self) -> None:
        """Abandon everything done so far (after a refused posting), keeping the session usable."""
        await self.session.rollback()
        self.events.clear()
        self._after_commit.clear()

    async def commit(self) -> None:
        await self.session.commit()
        for callback in self._after_commit:
            callback()
        self._after_commit.clear()
        events, self.events = self.events, []
        if events:
            await self.services.bus.publish(events)


@asynccontextmanager
async def unit_of_work(services: Services, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work; whatever is not committed when the block ends is rolled back."""
    async with services.sessionmaker() as session:
        if read_only:
            await session.connection(execution_options=READ_ONLY)
        yield UnitOfWork(services, session)
