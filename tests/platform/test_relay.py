"""Durable events: stored with their change, published by the relay in commit order, kept
through a bus outage, purged after retention; a committed write is never answered as failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from guildbank.core.events import DomainEvent
from guildbank.platform.bus import Event, InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock

GUILD = "111111111111111111"


@dataclass(frozen=True, slots=True, kw_only=True)
class Probed(DomainEvent):
    name: ClassVar[str] = "test.probed"
    n: int


class FlakyBus(InProcessBus):
    """A bus that refuses to publish while ``down`` (as Redis does when stopped)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    async def publish(self, events: Iterable[Event]) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("bus unreachable")
        await super().publish(events)


@pytest.fixture
async def flaky(database_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    services = Services(
        engine=create_engine(database_url, pool_size=20), bus=FlakyBus(), clock=clock
    )
    try:
        yield services
    finally:
        await services.close()


async def _emit(services: Services, *numbers: int) -> None:
    async with unit_of_work(services) as uow:
        for n in numbers:
            uow.emit(Probed(guild_id=GUILD, n=n))
        await uow.commit()


async def _stored(services: Services) -> list[tuple[int, int | None]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (await uow.session.execute(select(EventLogEntry))).scalars().all()
    return sorted((row.data["n"], row.position) for row in rows)


async def test_events_are_stored_with_the_commit_and_published_in_order(
    services: Services,
) -> None:
    async with services.bus.subscribe(names=["test.probed"]) as subscription:
        await _emit(services, 1, 2)
        async with unit_of_work(services) as uow:
            uow.emit(Probed(guild_id=GUILD, n=99))  # rolled back: never stored
        await _emit(services, 3)
        await services.relay.drain()
        received = [subscription.queue.get_nowait() for _ in range(3)]
        assert subscription.queue.empty()
    assert [(e.data["n"], e.id) for e in received] == [(1, 1), (2, 2), (3, 3)]
    assert await _stored(services) == [(1, 1), (2, 2), (3, 3)]


async def test_a_bus_outage_delays_events_but_loses_none(flaky: Services) -> None:
    bus = flaky.bus
    assert isinstance(bus, FlakyBus)
    async with bus.subscribe() as subscription:
        bus.down = True
        await _emit(flaky, 1)  # committed and answered as committed
        await _emit(flaky, 2)
        with pytest.raises(ConnectionError):
            await flaky.relay.publish_pending()
        assert await _stored(flaky) == [(1, None), (2, None)]  # waiting, unnumbered
        bus.down = False
        async with asyncio.timeout(10):  # the background relay retries on its own
            first, second = await subscription.queue.get(), await subscription.queue.get()
    assert [(first.data["n"], first.id), (second.data["n"], second.id)] == [(1, 1), (2, 2)]
    assert bus.refused >= 1
    await flaky.relay.drain()  # a pass publishes before it commits the numbers it gave
    assert await _stored(flaky) == [(1, 1), (2, 2)]


async def test_published_events_are_purged_after_retention_and_waiting_ones_never(
    flaky: Services, clock: FakeClock
) -> None:
    bus = flaky.bus
    assert isinstance(bus, FlakyBus)
    await _emit(flaky, 1)
    await flaky.relay.drain()
    bus.down = True
    await _emit(flaky, 2)
    clock.advance(hours=flaky.event_retention_hours + 1)
    await flaky.relay.purge()  # (the background relay may have purged event 1 already)
    assert await _stored(flaky) == [(2, None)]  # unpublished: kept however old
    bus.down = False
    await flaky.relay.drain()
    assert await _stored(flaky) == [(2, 2)]  # positions keep counting after a purge


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded(DomainEvent):
    name: ClassVar[str] = "test.recorded"
    n: int


async def test_kept_event_names_outlive_the_retention(database_url: str, clock: FakeClock) -> None:
    """The admin log's actions are read from the log for good (runtime/services.py)."""
    services = Services(
        engine=create_engine(database_url),
        bus=InProcessBus(),
        clock=clock,
        kept_event_names=frozenset({Recorded.name}),
    )
    try:
        async with unit_of_work(services) as uow:
            uow.emit(Probed(guild_id=GUILD, n=1))
            uow.emit(Recorded(guild_id=GUILD, n=2))
            await uow.commit()
        await services.relay.drain()
        clock.advance(hours=services.event_retention_hours + 1)
        await services.relay.purge()
        async with unit_of_work(services, read_only=True) as uow:
            names = (await uow.session.execute(select(EventLogEntry.name))).scalars().all()
        assert names == [Recorded.name]
    finally:
        await services.close()


async def test_resuming_reads_the_log_after_a_position(services: Services) -> None:
    await _emit(services, 1, 2, 3)
    await services.relay.drain()
    events, purged = await services.relay.published_after(1, guilds=None, names=None)
    assert ([e.data["n"] for e in events], purged) == ([2, 3], False)
    elsewhere, _ = await services.relay.published_after(0, guilds=frozenset({"9"}), names=None)
    assert elsewhere == []


@pytest.mark.parametrize("backend", ["postgres"])  # SQLite runs one writer at a time
async def test_concurrent_writers_get_gapless_positions_in_commit_order(
    services: Services,
) -> None:
    await asyncio.gather(*(_emit(services, n) for n in range(40)))
    await services.relay.drain()
    stored = await _stored(services)
    assert sorted(position or 0 for _, position in stored) == list(range(1, 41))
    async with unit_of_work(services, read_only=True) as uow:
        unpublished = await uow.session.scalar(
            select(func.count()).where(EventLogEntry.position.is_(None))
        )
    assert unpublished == 0


async def test_closing_stops_the_relay_even_while_it_is_busy(flaky: Services) -> None:
    bus = flaky.bus
    assert isinstance(bus, FlakyBus)
    bus.down = True
    await _emit(flaky, 1)  # the relay starts and keeps retrying
    await asyncio.sleep(0.3)
    async with asyncio.timeout(12):
        await flaky.relay.close()
