"""The unit of work guards its one exception to "one transaction": a standalone write must be
the unit's only write (refused once the unit began, and nothing may follow it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import text

from guildbank.core.events import DomainEvent
from guildbank.platform.uow import Services, StandaloneWriteError, unit_of_work


@dataclass(frozen=True, slots=True, kw_only=True)
class Probed(DomainEvent):
    """A test-only event: what a unit of work publishes after its commit."""

    name: ClassVar[str] = "test.probed"
    amount: int


async def test_the_standalone_pool_is_the_drivers_on_postgresql_only(
    services: Services, backend: str
) -> None:
    async with unit_of_work(services) as uow:
        pool = await uow.standalone_pool()
    assert (pool is not None) == (backend == "postgres")


async def test_a_unit_that_began_its_transaction_gets_no_standalone_write(
    services: Services,
) -> None:
    async with unit_of_work(services) as uow:
        await uow.session.execute(text("SELECT 1"))
        with pytest.raises(StandaloneWriteError, match="already began its own transaction"):
            await uow.standalone_pool()


async def test_a_read_only_unit_gets_no_standalone_write(services: Services) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(StandaloneWriteError, match="read-only"):
            await uow.standalone_pool()


async def test_after_a_standalone_write_the_unit_refuses_to_write_but_commits_its_events(
    services: Services,
) -> None:
    async with unit_of_work(services) as uow:
        await uow.standalone_pool()
        uow.wrote_standalone()
        uow.emit(Probed(guild_id="111111111111111111", amount=5))
        with pytest.raises(StandaloneWriteError, match="must not write anything else"):
            _ = uow.session
        with pytest.raises(StandaloneWriteError, match="already made its standalone write"):
            await uow.standalone_pool()
        with pytest.raises(StandaloneWriteError, match="no rollback"):
            await uow.rollback()
        async with services.bus.subscribe() as subscription:
            await uow.commit()
            event = await subscription.queue.get()
    assert (event.name, event.guild_id, event.data) == (
        "test.probed",
        "111111111111111111",
        {"amount": 5},
    )
