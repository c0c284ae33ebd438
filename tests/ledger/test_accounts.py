"""Looking accounts up by (guild, user): one statement, a bounded cache of committed ids."""

from __future__ import annotations

from guildbank.ledger.accounts import account_ids, ensure_account
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import member, open_account


async def test_known_members_are_found_in_one_look_up(services: Services, guild: str) -> None:
    first = await open_account(services, guild, member(1))
    second = await open_account(services, guild, member(2))
    services.account_ids.clear()
    async with unit_of_work(services) as uow:
        found = await account_ids(uow, guild, [member(1), member(2), member(3), member(1)])
    assert found == {member(1): first, member(2): second}


async def test_a_cold_look_up_leaves_the_unit_unbegun_on_postgresql(
    services: Services, guild: str
) -> None:
    """So a transfer between members this process has not seen yet keeps its one-statement
    path (SQLite has no such path: the look-up is the unit's first statement there)."""
    await open_account(services, guild, member(1))
    services.account_ids.clear()
    async with unit_of_work(services) as uow:
        assert await account_ids(uow, guild, [member(1)])
        assert uow.began == (services.dialect != "postgresql")
        await uow.commit()
    assert services.account_ids.get((guild, member(1))) is not None


async def test_an_account_opened_by_a_unit_that_rolls_back_is_not_remembered(
    services: Services, guild: str
) -> None:
    async with unit_of_work(services) as uow:
        await ensure_account(uow, guild, member(1), starting_balance=100)
        await uow.rollback()
    assert services.account_ids.get((guild, member(1))) is None
    async with unit_of_work(services) as uow:
        assert await account_ids(uow, guild, [member(1)]) == {}


async def test_the_cache_holds_at_most_its_size(
    services: Services, guild: str, database_url: str, clock: FakeClock
) -> None:
    for n in range(1, 6):
        await open_account(services, guild, member(n))
    small = Services(
        engine=create_engine(database_url, pool_size=2),
        bus=InProcessBus(),
        clock=clock,
        account_cache_size=3,
    )
    try:
        async with unit_of_work(small) as uow:
            found = await account_ids(uow, guild, [member(n) for n in range(1, 6)])
            await uow.commit()
    finally:
        await small.close()
    assert len(found) == 5
    assert len(small.account_ids) == 3
