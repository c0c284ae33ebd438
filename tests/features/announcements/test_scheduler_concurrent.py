"""Scheduled announcements under real concurrency: several "web processes" (each its own
engine and connections) publishing at once post every announcement exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from guildbank.features.announcements.publishing import publish_due
from guildbank.features.announcements.scheduler import AnnouncementScheduler
from guildbank.features.announcements.service import create_announcement
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.models.announcements import Announcement
from guildbank.platform.uow import Services, unit_of_work
from tests.concurrency.conftest import run_clients
from tests.conftest import FakeClock
from tests.features.announcements.support import CHANNEL, jobs

PROCESSES = 6


@pytest.fixture
async def processes(database_url: str, clock: FakeClock) -> AsyncIterator[list[Services]]:
    """Independent services over the same database, as separate web processes have."""
    made = [
        Services(engine=create_engine(database_url, pool_size=4), bus=InProcessBus(), clock=clock)
        for _ in range(PROCESSES)
    ]
    try:
        yield made
    finally:
        for services in made:
            await services.close()


async def schedule(services: Services, guild: str, clock: FakeClock, count: int) -> list[int]:
    ids = []
    async with unit_of_work(services) as uow:
        for n in range(count):
            made = await create_announcement(
                uow,
                guild_id=guild,
                channel_id=CHANNEL,
                content=f"#{n}",
                scheduled_at=clock.now + timedelta(minutes=10),
            )
            ids.append(made.id)
        await uow.commit()
    return ids


async def test_racing_publishers_post_each_announcement_once(
    services: Services, guild: str, clock: FakeClock, processes: list[Services]
) -> None:
    """Even without the lease (two holders after a lease ran out), the conditional update
    lets one publisher claim each announcement."""
    ids = await schedule(services, guild, clock, 20)
    clock.advance(minutes=10)

    async def publish(process: Services) -> list[int]:
        async with unit_of_work(process) as uow:
            posted = await publish_due(uow)
            await uow.commit()
        return posted

    posted = await run_clients(PROCESSES, processes, publish)
    counts = Counter(i for batch in posted for i in batch)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}
    written = await jobs(services, guild)
    assert len(written) == 20
    assert sorted(j["payload"]["content"] for j in written) == sorted(f"#{n}" for n in range(20))


async def test_one_scheduler_among_many_processes_holds_the_lease(
    services: Services, guild: str, clock: FakeClock, processes: list[Services]
) -> None:
    ids = await schedule(services, guild, clock, 5)
    clock.advance(minutes=10)
    schedulers = [
        AnnouncementScheduler(process, owner=f"web-{n}") for n, process in enumerate(processes)
    ]
    outcomes = await run_clients(PROCESSES, schedulers, lambda s: s.run_once())
    working = [o for o in outcomes if o is not None]
    assert len(working) == 1, outcomes
    assert sorted(working[0]) == sorted(ids)
    async with unit_of_work(services, read_only=True) as uow:
        statuses = (await uow.session.execute(select(Announcement.status))).scalars().all()
    assert set(statuses) == {"posted"}
    assert len(await jobs(services, guild)) == 5
