"""The unit of work: one database transaction per request, command or job.

The adapter opens it and commits once at the end (or lets it roll back); services never
commit. Events collected during the unit are stored in the event log inside the same
transaction and published by the relay once it committed (``platform/relay.py``): a bus
outage delays them but never loses them nor fails the write. Caches are only filled from
committed state (``after_commit``).

One exception to "one transaction": a unit whose only write is a single statement may make
it *standalone*, autocommitted on the driver pool (the one-round-trip transfer and daily claim:
``ledger/transfers.py``, ``ledger/daily.py``). The unit enforces "only": a standalone write is
refused once the unit began its own transaction, and after one the unit refuses any further
write. Such a statement stores the unit's events itself (``wrote_standalone(events_stored=True)``);
one that does not (the generic ``ledger.posting.post_standalone``) has them stored right after
its commit, in a transaction of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from guildbank.core.events import DomainEvent
from guildbank.platform.bus import Event, EventBus
from guildbank.platform.cache import Caches, LruCache
from guildbank.platform.clock import utcnow
from guildbank.platform.engine import READ_ONLY, DriverPool
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.ratelimit import SharedLimiter
from guildbank.platform.relay import EventRelay

__all__ = ["Services", "StandaloneWriteError", "UnitOfWork", "unit_of_work"]


@dataclass
class Services:
    """What every unit of work needs: the database, the bus and its relay, the clock, the rate
    limiter and shared caches."""

    engine: AsyncEngine
    bus: EventBus
    clock: Callable[[], datetime] = utcnow
    # How long a process trusts a cached value (guild settings) that no event invalidated.
    config_cache_seconds: float = 30.0
    # In memory unless built from settings with Redis (runtime/services.py).
    limits: SharedLimiter = field(default_factory=SharedLimiter)
    # How long published events stay in the event log for reconnecting streams.
    event_retention_hours: float = 72.0
    # Event names never purged (records the dashboard reads: the admin log's actions).
    kept_event_names: frozenset[str] = frozenset()
    relay: EventRelay = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    # Read-only units begin a plain deferred transaction on SQLite (platform/engine.py).
    read_sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    caches: Caches = field(init=False)
    # Account ids never change once committed, so this cache needs no expiry; its size is
    # bounded (least recently used evicted): GUILDBANK_ACCOUNT_CACHE_SIZE.
    account_cache_size: int = 100_000
    account_ids: LruCache[tuple[str, str], int] = field(init=False)
    # Leaderboard ranks (features/economy/ranks.py, docs/hot-paths.md): exact when fewer than
    # rank_exact_limit are ahead or the guild has fewer than rank_snapshot_min_members; else
    # from a snapshot of every rank_snapshot_step-th position, rebuilt in the background once
    # older than rank_snapshot_seconds, for at most rank_snapshot_guilds guilds (LRU).
    rank_exact_limit: int = 10_000
    rank_snapshot_min_members: int = 20_000
    rank_snapshot_step: int = 1_000
    rank_snapshot_seconds: float = 60.0
    rank_snapshot_guilds: int = 256
    rank_snapshots: LruCache[str, Any] = field(init=False)

    driver_pool: DriverPool | None = field(init=False)

    def __post_init__(self) -> None:
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**READ_ONLY), expire_on_commit=False
        )
        self.caches = Caches(self.config_cache_seconds)
        self.account_ids = LruCache(self.account_cache_size)
        self.rank_snapshots = LruCache(self.rank_snapshot_guilds)
        self.relay = EventRelay(
            self.sessionmaker,
            self.bus,
            retention=timedelta(hours=self.event_retention_hours),
            kept=self.kept_event_names,
            clock=self.clock,
        )
        self.driver_pool = (
            DriverPool(
                self.engine.url.render_as_string(hide_password=False),
                max_size=self.engine.pool.size(),  # type: ignore[attr-defined]
            )
            if self.engine.dialect.name == "postgresql"
            else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def standalone_pool(self) -> asyncpg.Pool | None:
        """Where a one-statement write may run on its own (PostgreSQL), else None.

        Services write through ``UnitOfWork.standalone_pool``, which guards its use.
        """
        return None if self.driver_pool is None else await self.driver_pool.get()

    async def close(self) -> None:
        """Stop everything this object started: the relay, the bus, the limiter, the pools,
        the engine."""
        await self.relay.close()
        await self.bus.close()
        await self.limits.close()
        if self.driver_pool is not None:
            await self.driver_pool.close()
        await self.engine.dispose()


class StandaloneWriteError(RuntimeError):
    """A programming error: a standalone (autocommitted) write mixed with other writes."""


class UnitOfWork:
    """One database transaction's worth of work, plus the events it will announce.

    The ORM session is opened on first use: a unit whose only write is a standalone posting
    (``ledger/posting.py``) never needs one, which keeps the busiest path free of ORM overhead.
    """

    def __init__(self, services: Services, *, read_only: bool = False) -> None:
        self.services = services
        self.read_only = read_only
        self.events: list[Event] = []
        self._session: AsyncSession | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._wrote_standalone = False
        self._events_stored = False
        self.now = services.clock()

    @property
    def session(self) -> AsyncSession:
        if self._wrote_standalone:
            msg = (
                "this unit of work already made its standalone write, which committed on its "
                "own: it must not write anything else (use a new unit of work)"
            )
            raise StandaloneWriteError(msg)
        if self._session is None:
            makers = self.services
            self._session = (makers.read_sessionmaker if self.read_only else makers.sessionmaker)()
        return self._session

    @property
    def began(self) -> bool:
        """Whether this unit has touched the database through its session yet."""
        return self._session is not None and self._session.in_transaction()

    async def standalone_pool(self) -> asyncpg.Pool | None:
        """The driver pool for this unit's one standalone write; None where the backend has
        none (SQLite: write through ``session`` instead, then ``wrote_standalone``).

        A standalone write must be the unit's only write: refused once the unit began its own
        transaction, or made its standalone write already.
        """
        if self.read_only:
            raise StandaloneWriteError("a read-only unit of work cannot write")
        if self.began:
            msg = (
                "a standalone write must be the unit of work's only write, but this unit "
                "already began its own transaction: write through the session instead"
            )
            raise StandaloneWriteError(msg)
        if self._wrote_standalone:
            raise StandaloneWriteError("this unit of work already made its standalone write")
        return await self.services.standalone_pool()

    def wrote_standalone(self, *, events_stored: bool = False) -> None:
        """Record that the standalone write succeeded: from now on the unit refuses to write.

        ``events_stored``: the statement also stored the unit's events in the event log.
        """
        self._wrote_standalone = True
        self._events_stored = events_stored

    async def rate_limit(self, per_minute: int, *identifiers: str) -> None:
        """Count one action against ``identifiers`` in every process (RateLimited beyond
        ``per_minute`` in the last minute; 0 is no limit)."""
        await self.services.limits.hit_per_minute(per_minute, *identifiers)

    def emit(self, event: DomainEvent) -> None:
        """Record a domain event; it is published only once this unit has committed."""
        self.events.append(
            Event(name=event.name, guild_id=event.guild_id, data=event.payload(), at=self.now)
        )

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def rollback(self) -> None:
        """Abandon everything done so far (after a refused posting), keeping the session usable."""
        if self._wrote_standalone:
            raise StandaloneWriteError("a standalone write committed on its own: no rollback")
        if self._session is not None:
            await self._session.rollback()
        self.events.clear()
        self._after_commit.clear()

    async def commit(self) -> None:
        """Store the unit's events with its changes, commit, then let the relay publish."""
        events, self.events = self.events, []
        session = self._session
        if events and not self._events_stored:
            if session is None and self._wrote_standalone:
                # A standalone statement that did not store them (posting.post_standalone).
                async with self.services.sessionmaker() as own, own.begin():
                    await self._store(own, events)
            else:
                # After a standalone write through the session (SQLite), still its transaction.
                await self._store(self._session or self.session, events)
                session = self._session
        if session is not None and session.in_transaction():
            await session.commit()
        for callback in self._after_commit:
            callback()
        self._after_commit.clear()
        if events:
            self.services.relay.nudge()

    @staticmethod
    async def _store(session: AsyncSession, events: list[Event]) -> None:
        await session.execute(
            insert(EventLogEntry),
            [
                {"guild_id": e.guild_id, "name": e.name, "data": e.data, "created_at": e.at}
                for e in events
            ],
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@asynccontextmanager
async def unit_of_work(services: Services, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work; whatever is not committed when the block ends is rolled back."""
    uow = UnitOfWork(services, read_only=read_only)
    try:
        yield uow
    finally:
        await uow.close()
