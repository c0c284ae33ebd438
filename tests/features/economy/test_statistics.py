"""The dashboard's statistics (features/economy/statistics.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.features.economy import period_stats
from guildbank.features.economy import statistics as stats
from guildbank.features.economy.membership import set_member_active
from guildbank.features.guilds import directory
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, START, FakeClock
from tests.factories import claim, fund, member, open_account, send

TODAY = START.date()


async def test_daily_activity_counts_per_utc_day_with_empty_days(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await send(services, guild, member(1), member(2), 5)  # + 2 starting balances
    clock.advance(days=1, hours=11, minutes=59)  # 23:59 the next day
    await send(services, guild, member(1), member(2), 7)
    clock.advance(minutes=2)  # 00:01 the day after
    await claim(services, guild, member(3))  # starting balance + daily
    async with unit_of_work(services, read_only=True) as uow:
        points = await stats.daily_activity(uow, guild_id=guild, days=7)
    assert [p.day for p in points] == [TODAY + timedelta(days=i) for i in range(-4, 3)]
    by_day = {p.day: (p.transactions, p.volume) for p in points}
    assert by_day[TODAY] == (3, 205)
    assert by_day[TODAY + timedelta(days=1)] == (1, 7)
    assert by_day[TODAY + timedelta(days=2)] == (2, 110)
    assert by_day[TODAY - timedelta(days=1)] == (0, 0)


async def test_the_supply_series_ends_at_the_current_supply(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await open_account(services, guild, member(1))  # 100
    clock.advance(days=1)
    await fund(services, guild, member(1), 250)  # +150
    await send(services, guild, member(1), member(2), 50)  # +100 (starting), transfer is neutral
    clock.advance(days=2)
    await fund(services, guild, member(2), 0)  # -150
    async with unit_of_work(services, read_only=True) as uow:
        points = await period_stats.economy_series(uow, guild_id=guild, days=5)
        summary = await stats.guild_summary(uow, guild_id=guild)
    supply = {p.day: p.supply for p in points}
    assert [p.day for p in points] == [TODAY + timedelta(days=i) for i in range(-1, 4)]
    assert supply[TODAY - timedelta(days=1)] == 0
    assert supply[TODAY] == 100
    assert supply[TODAY + timedelta(days=1)] == 350
    assert supply[TODAY + timedelta(days=2)] == 350
    assert supply[TODAY + timedelta(days=3)] == 200
    assert summary.money_supply == 200 == points[-1].supply


async def test_summary_and_guild_list(services: Services, guild: str, clock: FakeClock) -> None:
    await send(services, guild, member(1), member(2), 5)
    await open_account(services, guild, member(3))
    async with unit_of_work(services) as uow:
        await set_member_active(uow, guild_id=guild, user_id=member(3), active=False)
        await uow.commit()
    clock.advance(days=1)
    await send(services, guild, member(2), member(1), 1)
    async with unit_of_work(services, read_only=True) as uow:
        summary = await stats.guild_summary(uow, guild_id=guild)
        rows = await directory.list_guilds(uow)
        none = await directory.list_guilds(uow, ids=[OTHER_GUILD_ID])
    assert (summary.members, summary.inactive_members) == (2, 1)
    assert summary.money_supply == 300
    assert (summary.transactions, summary.transactions_today) == (5, 1)
    assert [(r.id, r.name, r.members, r.money_supply) for r in rows] == [
        (guild, "Test guild", 2, 300)
    ]
    assert none == []


async def test_search_members_filters_sorts_and_pages(services: Services, guild: str) -> None:
    for n, balance in ((1, 10), (2, 30), (3, 20), (12, 40)):
        await fund(services, guild, member(n), balance)
    async with unit_of_work(services) as uow:
        await set_member_active(uow, guild_id=guild, user_id=member(12), active=False)
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        active = await stats.search_members(uow, guild_id=guild)
        inactive = await stats.search_members(uow, guild_id=guild, status="inactive")
        everyone = await stats.search_members(uow, guild_id=guild, status="all", sort="oldest")
        page_two = await stats.search_members(uow, guild_id=guild, limit=2, offset=2)
        by_ids = await stats.search_members(uow, guild_id=guild, user_ids=[member(3), "nobody"])
        prefix = await stats.search_members(
            uow, guild_id=guild, status="all", id_prefix="30000000000000001"
        )
    assert [r.user_id for r in active.rows] == [member(2), member(3), member(1)]
    assert active.total == 3
    assert [r.user_id for r in inactive.rows] == [member(12)]
    assert inactive.rows[0].left_at is not None
    assert [r.user_id for r in everyone.rows] == [member(n) for n in (1, 2, 3, 12)]
    assert (page_two.total, [r.user_id for r in page_two.rows]) == (3, [member(1)])
    assert [r.user_id for r in by_ids.rows] == [member(3)]
    assert [r.user_id for r in prefix.rows] == [member(12)]


async def test_search_members_matches_any_part_of_the_id(services: Services, guild: str) -> None:
    for n, balance in ((1, 10), (2, 30), (3, 20), (12, 40), (21, 5)):
        await fund(services, guild, member(n), balance)
    async with unit_of_work(services, read_only=True) as uow:
        ending = await stats.search_members(uow, guild_id=guild, id_part="12")
        middle = await stats.search_members(uow, guild_id=guild, id_part="0000000002")
        any_two = await stats.search_members(uow, guild_id=guild, id_part="2", sort="oldest")
        whole = await stats.search_members(uow, guild_id=guild, id_part=member(3))
        nobody = await stats.search_members(uow, guild_id=guild, id_part="999")
    assert [r.user_id for r in ending.rows] == [member(12)]
    assert [r.user_id for r in middle.rows] == [member(2), member(21)]  # richest first
    assert (any_two.total, [r.user_id for r in any_two.rows]) == (
        3,
        [member(2), member(12), member(21)],
    )
    assert [r.user_id for r in whole.rows] == [member(3)]
    assert (nobody.total, nobody.rows) == (0, [])


async def test_transaction_count_and_export_follow_the_filters(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await send(services, guild, member(1), member(2), 5, reason="first")
    clock.advance(days=1)
    await send(services, guild, member(2), member(3), 6, reason="second")
    everything = stats.TransactionFilter()
    transfers = stats.TransactionFilter(type="transfer")
    of_three = stats.TransactionFilter(user_id=member(3))
    day_two = stats.TransactionFilter(
        start=START + timedelta(hours=12), end=START + timedelta(days=2)
    )
    async with unit_of_work(services, read_only=True) as uow:
        counts = [
            await stats.count_transactions(uow, guild_id=guild, where=w)
            for w in (everything, transfers, of_three, day_two)
        ]
        first = await stats.export_batch(uow, guild_id=guild, where=everything, limit=3)
        rest = await stats.export_batch(
            uow, guild_id=guild, where=everything, after=first[-1], limit=3
        )
        reversal = await stats.reversal_of(uow, guild_id=guild, transaction_id=first[0].id)
    assert counts == [5, 2, 2, 2]
    assert [r.id for r in first + rest] == [5, 4, 3, 2, 1]
    newest = first[0]
    assert (newest.type, newest.amount, newest.reason) == ("transfer", 6, "second")
    assert (newest.debited, newest.credited) == ([member(2)], [member(3)])
    assert rest[-1].debited == ["mint"]
    assert reversal is None


async def test_unknown_guilds_and_bad_input_are_refused(services: Services, guild: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(GuildNotFound):
            await stats.guild_summary(uow, guild_id=OTHER_GUILD_ID)
        with pytest.raises(InvalidInput):
            await stats.daily_activity(uow, guild_id=guild, days=0)
        with pytest.raises(InvalidInput):
            await stats.search_members(uow, guild_id=guild, id_prefix="12a")
        for odd in ("12a", "١٢", "%", "_"):  # no other script's digits, no LIKE wildcards
            with pytest.raises(InvalidInput):
                await stats.search_members(uow, guild_id=guild, id_part=odd)
        with pytest.raises(InvalidInput):
            await stats.count_transactions(
                uow, guild_id=guild, where=stats.TransactionFilter(user_id="x")
            )
