"""The event relay: stored events reach the bus after their transaction commits, in order.

Writers store their domain events in ``event_log`` inside their own transaction
(``UnitOfWork.commit``), then nudge this process's relay. A relay pass, in one short
transaction, locks the ``event_relay`` cursor row (so relays of several processes take turns),
takes the events nobody published yet in insertion order, numbers them with the next
positions, publishes them on the bus and commits. If the bus refuses (Redis down), the pass
rolls back and the events wait, still unnumbered, for the next pass: nothing committed is lost
and nothing turns a committed write into an error. Positions therefore follow commit order and
have no gaps, which is what lets the SSE stream resume from ``Last-Event-ID``.

Delivery is at least once: a process killed between publishing and committing leaves events
that the next pass publishes again (with new positions). Subscribers treat events as
notifications (invalidate a cache, refresh a page), which tolerates a repeat.

The relay also purges published events older than the retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from guildbank.platform.bus import Event, EventBus
from guildbank.platform.clock import as_utc, utcnow
from guildbank.platform.models.events import EventLogEntry, EventRelayCursor
from guildbank.platform.upsert import insert_ignore

__all__ = ["EventRelay", "oldest_position", "stored_events"]

CURSOR = "events"
BATCH_SIZE = 500
PURGE_EVERY_SECONDS = 600.0
CLOSE_WAIT_SECONDS = 5.0
log = structlog.get_logger(__name__)


def _event(row: EventLogEntry, position: int) -> Event:
    return Event(
        name=row.name,
        guild_id=row.guild_id,
        data=row.data,
        at=as_utc(row.created_at),
        id=position,
    )


async def stored_events(
    session: AsyncSession,
    *,
    after: int,
    guilds: frozenset[str] | None,
    names: frozenset[str] | None,
    limit: int,
) -> list[Event]:
    """Published events after position ``after`` matching the filters, oldest first."""
    query = (
        select(EventLogEntry)
        .where(EventLogEntry.position > after)
        .order_by(EventLogEntry.position)
        .limit(limit)
    )
    if guilds is not None:
        query = query.where(EventLogEntry.guild_id.in_(guilds))
    if names is not None:
        query = query.where(EventLogEntry.name.in_(names))
    rows = (await session.execute(query)).scalars().all()
    return [_event(row, row.position) for row in rows if row.position is not None]


async def oldest_position(session: AsyncSession) -> int | None:
    """The smallest position still stored (older ones were purged)."""
    return (await session.execute(select(func.min(EventLogEntry.position)))).scalar_one()


async def _lock_cursor(session: AsyncSession) -> int:
    """The last position handed out, its row locked until the pass commits (SQLite: the write
    transaction's BEGIN IMMEDIATE is the lock). A missing row (an emptied database) is
    recreated after the highest position stored."""
    query = (
        select(EventRelayCursor.position).where(EventRelayCursor.name == CURSOR).with_for_update()
    )
    position = (await session.execute(query)).scalar_one_or_none()
    if position is None:
        highest = (await session.execute(select(func.max(EventLogEntry.position)))).scalar_one()
        await insert_ignore(
            session, EventRelayCursor, {"name": CURSOR, "position": highest or 0}, ["name"]
        )
        position = (await session.execute(query)).scalar_one()
    return position


class EventRelay:
    """Publishes this deployment's stored events; one per process, started on first nudge."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        *,
        poll_seconds: float = 1.0,
        retention: timedelta = timedelta(hours=72),
        kept: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._retention = retention
        # Events kept past the retention: the records pages read (the admin log's actions).
        self._kept = kept
        self._clock = clock
        # One background runner per event loop that stores events (tests and embedded
        # servers may run several loops in one process); the cursor lock keeps them in turn.
        self._runners: dict[asyncio.AbstractEventLoop, _Runner] = {}
        self._closed = False
        self._last_purge = 0.0

    def nudge(self) -> None:
        """Say that events were stored: the relay publishes them soon (never blocks, never
        fails; outside an event loop the next poll or start picks them up)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._closed:
            return
        runner = self._runners.get(loop)
        if runner is None or runner.task.done():
            wake = asyncio.Event()
            task = loop.create_task(self._run_forever(wake), name="event-relay")
            runner = self._runners[loop] = _Runner(task, wake)
        runner.wake.set()

    def start(self) -> None:
        """Run the relay in the background (also catches up with events stored earlier)."""
        self.nudge()

    async def publish_pending(self) -> int:
        """One relay pass: number and publish up to a batch of waiting events.

        Returns how many were published; raises (after rolling back) when the bus refused.
        """
        async with self._sessionmaker() as session, session.begin():
            cursor = await _lock_cursor(session)
            rows = (
                (
                    await session.execute(
                        select(EventLogEntry)
                        .where(EventLogEntry.position.is_(None))
                        .order_by(EventLogEntry.id)
                        .limit(BATCH_SIZE)
                    )
                )
                .scalars()
                .all()
            )
            if not rows:
                return 0
            await self._number(session, rows, cursor)
            await self._bus.publish([_event(row, cursor + i) for i, row in enumerate(rows, 1)])
        return len(rows)

    async def _number(
        self, session: AsyncSession, rows: Sequence[EventLogEntry], cursor: int
    ) -> None:
        await session.execute(  # an ORM bulk UPDATE by primary key: one executemany
            update(EventLogEntry),
            [{"id": row.id, "position": cursor + i} for i, row in enumerate(rows, 1)],
        )
        await session.execute(
            update(EventRelayCursor)
            .where(EventRelayCursor.name == CURSOR)
            .values(position=cursor + len(rows))
        )

    async def published_after(
        self,
        after: int,
        *,
        guilds: frozenset[str] | None,
        names: frozenset[str] | None,
        limit: int = BATCH_SIZE,
    ) -> tuple[list[Event], bool]:
        """Published events after position ``after`` (oldest first, at most ``limit``), and
        whether some after it were purged already (the caller missed them for good).

        It waits for a relay pass in flight to commit, so a caller subscribed to the bus
        before asking finds every event either here or on its subscription.
        """
        async with self._sessionmaker() as session, session.begin():
            cursor = await _lock_cursor(session)
            events = await stored_events(
                session, after=after, guilds=guilds, names=names, limit=limit
            )
            oldest = await oldest_position(session)
        purged = after < cursor and (oldest is None or oldest > after + 1)
        return events, purged

    async def drain(self) -> None:
        """Publish everything stored so far (tests, shutdown)."""
        while await self.publish_pending() == BATCH_SIZE:
            pass

    async def purge(self) -> int:
        """Delete published events older than the retention period, except the kept names;
        returns how many."""
        cutoff = self._clock() - self._retention
        doomed = delete(EventLogEntry).where(
            EventLogEntry.created_at < cutoff, EventLogEntry.position.is_not(None)
        )
        if self._kept:
            doomed = doomed.where(EventLogEntry.name.not_in(sorted(self._kept)))
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(doomed)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _run_forever(self, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.0
        while not self._closed:
            if backoff:
                await asyncio.sleep(backoff)  # while the bus is down, nudges don't hammer it
            else:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event fires, and close() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await wake.wait()
            wake.clear()
            try:
                await self.drain()
                if loop.time() - self._last_purge >= PURGE_EVERY_SECONDS:
                    self._last_purge = loop.time()
                    await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not backoff:
                    log.warning("event relay cannot publish; retrying", error=repr(error))
                backoff = min(max(backoff * 2, 0.1), 5.0)
                continue
            if backoff:
                log.info("event relay publishing again")
            backoff = 0.0

    async def close(self) -> None:
        """Stop the runners: this loop's is awaited, another running loop's is cancelled.

        A flag, not only a cancellation, ends the loop: a cancellation that lands inside the
        database driver can be absorbed there.
        """
        self._closed = True
        current = asyncio.get_running_loop()
        runners, self._runners = self._runners, {}
        for loop, runner in runners.items():
            if loop is not current:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(runner.task.cancel)
                continue
            runner.wake.set()
            _, pending = await asyncio.wait({runner.task}, timeout=CLOSE_WAIT_SECONDS)
            if pending:
                runner.task.cancel()
                await asyncio.wait({runner.task}, timeout=CLOSE_WAIT_SECONDS)


@dataclass(frozen=True, slots=True)
class _Runner:
    task: asyncio.Task[None]
    wake: asyncio.Event
