"""The web process runs the expiry scheduler in its lifespan, and task events reach the
durable event log (the live stream's source), on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from guildbank.features.tasks import queries as task_queries
from guildbank.features.tasks.expiry import expire_due
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.tasks import SchedulerLease
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import FakeClock, settings_for
from tests.features.tasks.support import ALICE, MOD, claim, make_task, review, submit


async def _status(services: Services, guild: str, task_id: int) -> str:
    async with unit_of_work(services, read_only=True) as uow:
        return (await task_queries.get_task(uow, guild_id=guild, task_id=task_id)).status


async def test_the_web_process_expires_due_tasks_and_holds_the_lease(
    services: Services, guild: str, clock: FakeClock, database_url: str
) -> None:
    task = await make_task(services, guild, duration_hours=1)
    clock.advance(hours=2)
    app = create_app(settings_for(database_url), services)
    async with app.router.lifespan_context(app), asyncio.timeout(10):
        while await _status(services, guild, task.id) != "expired":  # noqa: ASYNC110 - polls
            await asyncio.sleep(0.05)
    async with unit_of_work(services, read_only=True) as uow:
        names = set((await uow.session.execute(select(SchedulerLease.name))).scalars())
    assert "tasks.expiry" in names


async def test_task_events_are_stored_for_the_stream(
    services: Services, guild: str, clock: FakeClock
) -> None:
    task = await make_task(services, guild, duration_hours=1)
    await claim(services, guild, task.id, ALICE)
    await submit(services, guild, task.id, ALICE)
    await review(services, guild, task.id, ALICE, accept=True, reviewer_id=MOD)
    other = await make_task(services, guild, "Later", duration_hours=1)
    clock.advance(hours=2)
    async with unit_of_work(services) as uow:
        await expire_due(uow)
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry.name, EventLogEntry.data)
                .where(EventLogEntry.name.like("task.%"))
                .order_by(EventLogEntry.id)
            )
        ).all()
    names = [name for name, _ in rows]
    assert names == [
        "task.created",
        "task.claimed",
        "task.submitted",
        "task.reviewed",
        "task.created",
        "task.expired",
    ]
    data: dict[str, Any] = dict(rows)
    reviewed = data["task.reviewed"]
    assert (reviewed["accepted"], reviewed["reward"], reviewed["reviewer_id"]) == (True, 100, MOD)
    assert sorted(data["task.expired"]["task_ids"]) == sorted([task.id, other.id])
