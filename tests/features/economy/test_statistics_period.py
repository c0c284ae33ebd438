"""Statistics over time (features/economy/period_stats.py) on SQLite and PostgreSQL: a period's
flows, the money supply at a moment, the Gini coefficient and the overview's daily series."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import update

from guildbank.core.errors import InvalidInput
from guildbank.features.economy import period_stats
from guildbank.features.economy.membership import set_member_active
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, START, FakeClock
from tests.factories import fund, member, send

A, B, C = member(1), member(2), member(3)
TODAY = START.date()


def reference_gini(balances: list[int]) -> float:
    """The textbook definition: mean absolute difference of all pairs over twice the mean."""
    n, total = len(balances), sum(balances)
    if n == 0 or total == 0:
        return 0.0
    pairs = sum(abs(x - y) for x in balances for y in balances)
    return pairs / (2 * n * total)


async def history(services: Services, guild: str, clock: FakeClock) -> None:
    """A funded two days ago, then A → B 100 and B → C 30 in the last hour."""
    await fund(services, guild, A, 500)
    clock.advance(days=2)
    await send(services, guild, A, B, 100)  # B opens with 100
    clock.advance(hours=1)
    await send(services, guild, B, C, 30)  # C opens with 100


async def test_a_period_adds_up_to_the_change_in_supply(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await history(services, guild, clock)
    async with unit_of_work(services, read_only=True) as uow:
        day = await period_stats.period_statistics(uow, guild_id=guild, period="day")
        week = await period_stats.period_statistics(uow, guild_id=guild, period="week")
        everything = await period_stats.period_statistics(uow, guild_id=guild, period="all")
    assert (day.start, day.end) == (clock.now - timedelta(days=1), clock.now)
    assert (day.money_supply_start, day.money_supply_end) == (500, 700)
    assert (day.earned, day.spent) == (330, 130)  # B: 100 + 100, C: 100 + 30; A 100, B 30
    assert day.active_members == 3
    by_type = {t.type: t for t in day.by_type}
    assert set(by_type) == {"starting_balance", "transfer"}
    transfers = by_type["transfer"]
    assert (transfers.transactions, transfers.volume, transfers.earned, transfers.spent) == (
        2,
        130,
        130,
        130,
    )
    assert (by_type["starting_balance"].transactions, by_type["starting_balance"].earned) == (
        2,
        200,
    )
    assert (day.transactions, day.volume) == (4, 330)
    assert (week.money_supply_start, week.earned, week.spent) == (0, 830, 130)
    assert everything.start is None
    assert (everything.money_supply_start, everything.money_supply_end) == (0, 700)
    for stats in (day, week, everything):
        assert stats.money_supply_end - stats.money_supply_start == stats.earned - stats.spent
        assert (stats.user_id, stats.balance_start, stats.balance_end) == (None, None, None)


async def test_one_members_period(services: Services, guild: str, clock: FakeClock) -> None:
    await history(services, guild, clock)
    clock.advance(hours=2)
    async with unit_of_work(services, read_only=True) as uow:
        of_b = await period_stats.period_statistics(uow, guild_id=guild, period="day", user_id=B)
        of_a = await period_stats.period_statistics(uow, guild_id=guild, period="day", user_id=A)
        of_a_all = await period_stats.period_statistics(
            uow, guild_id=guild, period="all", user_id=A
        )
        stranger = await period_stats.period_statistics(
            uow, guild_id=guild, period="all", user_id=member(9)
        )
    assert (of_b.earned, of_b.spent, of_b.balance_start, of_b.balance_end) == (200, 30, 0, 170)
    assert of_b.balance_end is not None
    assert of_b.balance_start is not None
    assert of_b.balance_end - of_b.balance_start == of_b.earned - of_b.spent
    assert {t.type: t.transactions for t in of_b.by_type} == {"starting_balance": 1, "transfer": 2}
    assert (of_a.earned, of_a.spent, of_a.balance_start, of_a.balance_end) == (0, 100, 500, 400)
    assert (of_a_all.earned, of_a_all.balance_start) == (500, 0)
    # The guild's figures stay the guild's: a member's view adds their own.
    assert (of_a.money_supply_start, of_a.money_supply_end, of_a.active_members) == (500, 700, 3)
    assert (stranger.transactions, stranger.balance_start, stranger.balance_end) == (0, 0, 0)
    assert stranger.by_type == []


async def test_supply_at_a_moment_subtracts_what_came_after(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await history(services, guild, clock)
    async with unit_of_work(services, read_only=True) as uow:
        before_all = await period_stats.supply_at(uow, guild_id=guild, at=None)
        at_start = await period_stats.supply_at(uow, guild_id=guild, at=START)
        after_funding = await period_stats.supply_at(
            uow, guild_id=guild, at=START + timedelta(seconds=1)
        )
        between = await period_stats.supply_at(
            uow, guild_id=guild, at=START + timedelta(days=2, minutes=30)
        )
        now = await period_stats.supply_at(uow, guild_id=guild, at=clock.now + timedelta(hours=1))
    # A transaction at exactly T is after T's start: the supply "at T" is before it.
    assert (before_all, at_start, after_funding, between, now) == (0, 0, 500, 600, 700)


def test_gini_from_the_ranked_sums() -> None:
    assert period_stats.gini(0, 0, 0) == 0.0
    assert period_stats.gini(3, 0, 0) == 0.0  # nobody holds anything: no inequality
    # 0, 0, 0, 100: one holds everything.
    assert period_stats.gini(4, 100, 4 * 100) == pytest.approx(0.75)
    # 5, 5: equal.
    assert period_stats.gini(2, 10, 1 * 5 + 2 * 5) == pytest.approx(0.0)


async def test_gini_at_matches_the_textbook_definition(
    services: Services, guild: str, clock: FakeClock
) -> None:
    rng = random.Random(15)
    balances = [rng.choice([0, 1, 7, 50, 50, 300, 2_000]) for _ in range(25)]
    for n, balance in enumerate(balances, start=1):
        await fund(services, guild, member(n), balance)
    middle = clock.now + timedelta(minutes=30)
    clock.advance(hours=1)
    # Later: member 1 sends everything to member 2, member 26 joins: the past is unchanged.
    await fund(services, guild, member(1), 1_000)
    await send(services, guild, member(1), member(2), 1_000)
    await fund(services, guild, member(26), 5)
    async with unit_of_work(services) as uow:  # a member who left later counted then
        await set_member_active(uow, guild_id=guild, user_id=member(3), active=False)
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        count_then, gini_then = await period_stats.gini_at(uow, guild_id=guild, at=middle)
        count_now, gini_now = await period_stats.gini_at(
            uow, guild_id=guild, at=clock.now + timedelta(seconds=1)
        )
        # A transaction at exactly T is after T's start: not in the balances "at T".
        _, gini_before_later = await period_stats.gini_at(uow, guild_id=guild, at=clock.now)
    assert gini_before_later != gini_now
    assert count_then == 25
    assert gini_then == pytest.approx(reference_gini(balances))
    now = [0, balances[1] + 1_000, *balances[3:], 5]  # member 3 left
    assert count_now == 25
    assert gini_now == pytest.approx(reference_gini(now))


async def test_the_overview_series(services: Services, guild: str, clock: FakeClock) -> None:
    await fund(services, guild, A, 300)
    await fund(services, guild, B, 100)
    clock.advance(days=1)
    await send(services, guild, A, B, 200)  # A 100, B 300
    clock.advance(days=1)
    async with unit_of_work(services, read_only=True) as uow:
        points = await period_stats.economy_series(uow, guild_id=guild, days=4)
        again = await period_stats.economy_series(uow, guild_id=guild, days=4)
    assert again == points  # past days from the cache, today recomputed the same
    assert [p.day for p in points] == [TODAY + timedelta(days=i) for i in range(-1, 3)]
    assert [p.supply for p in points] == [0, 400, 400, 400]
    assert [p.members for p in points] == [0, 2, 2, 2]
    assert [p.spent for p in points] == [0, 0, 200, 0]
    assert points[2].velocity == pytest.approx(0.5)
    assert [p.velocity for p in (points[0], points[1], points[3])] == [0.0, 0.0, 0.0]
    assert points[1].gini == pytest.approx(reference_gini([300, 100]))
    assert points[2].gini == points[3].gini == pytest.approx(reference_gini([100, 300]))
    assert points[0].gini == 0.0


async def test_past_days_are_cached_today_is_not_for_long(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await fund(services, guild, A, 300)
    await fund(services, guild, B, 100)
    clock.advance(days=1)
    async with unit_of_work(services, read_only=True) as uow:
        first = await period_stats.economy_series(uow, guild_id=guild, days=2)
    # Rewrite the past behind the statistics' back: the cached day keeps its figure.
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account).where(Account.user_id == B).values(balance=Account.balance + 200)
        )
        await uow.commit()
    async with unit_of_work(services, read_only=True) as uow:
        second = await period_stats.economy_series(uow, guild_id=guild, days=2)
        _, fresh = await period_stats.gini_at(
            uow, guild_id=guild, at=START.replace(hour=0) + timedelta(days=1)
        )
    assert second[0].gini == first[0].gini == pytest.approx(reference_gini([300, 100]))
    assert fresh == pytest.approx(reference_gini([300, 300]))  # what a recomputation says


async def test_refusals(services: Services, guild: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(GuildNotFound):
            await period_stats.period_statistics(uow, guild_id=OTHER_GUILD_ID, period="all")
        with pytest.raises(GuildNotFound):
            await period_stats.economy_series(uow, guild_id=OTHER_GUILD_ID)
        with pytest.raises(InvalidInput):
            await period_stats.period_statistics(uow, guild_id=guild, period="all", user_id="x")
        with pytest.raises(InvalidInput):
            await period_stats.economy_series(uow, guild_id=guild, days=0)
