"""Daily rewards and streaks through the service layer (SPEC §4.2), on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from guildbank.features.economy import queries as reports
from guildbank.features.economy import service as economy
from guildbank.features.economy.errors import AlreadyClaimed
from guildbank.features.guilds.service import register_guild
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, START, FakeClock
from tests.factories import (
    balance_view,
    claim,
    configure,
    guild_money,
    member,
    send,
    set_streak,
)

TODAY = START.date()


async def test_first_daily_opens_the_account_with_starting_balance_plus_daily(
    services: Services, guild: str
) -> None:
    result = await claim(services, guild, member(1))
    assert (result.balance, result.awarded, result.streak_count) == (110, 10, 1)
    assert (result.multiplier, result.tier, result.last_daily) == (1, "NONE", TODAY)
    assert result.total_received == 10
    assert result.transaction_id is not None
    view = await balance_view(services, guild, member(1))
    assert (view.balance, view.streak_count, view.daily_available, view.exists) == (
        110,
        1,
        False,
        True,
    )
    async with unit_of_work(services, read_only=True) as uow:
        log = await reports.history(uow, guild_id=guild, user_id=member(1))
    assert [(t.type, t.amount) for t in log] == [("daily", 10), ("starting_balance", 100)]


async def test_second_claim_the_same_day_is_refused_and_moves_nothing(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await claim(services, guild, member(1))
    before = await guild_money(services, guild)
    clock.advance(hours=11, minutes=30)  # 23:30 UTC, still the same day
    with pytest.raises(AlreadyClaimed) as caught:
        await claim(services, guild, member(1))
    assert caught.value.code == "already_claimed"
    assert "already claimed" in caught.value.message
    assert caught.value.fields == {"retry_after_seconds": 1800}
    assert await guild_money(services, guild) == before


async def test_consecutive_days_grow_the_streak(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await claim(services, guild, member(1))
    clock.advance(days=1)
    second = await claim(services, guild, member(1))
    assert (second.streak_count, second.balance, second.last_daily) == (
        2,
        120,
        TODAY + timedelta(days=1),
    )
    clock.advance(days=1)
    assert (await claim(services, guild, member(1))).streak_count == 3


async def test_a_gap_resets_the_streak(services: Services, guild: str, clock: FakeClock) -> None:
    await set_streak(services, guild, member(1), streak=20, last_daily=TODAY - timedelta(days=1))
    clock.advance(days=1)  # TODAY was skipped
    result = await claim(services, guild, member(1))
    assert (result.streak_count, result.multiplier, result.awarded) == (1, 1, 10)
    assert result.balance == 110


async def test_a_broken_streak_reads_as_zero_until_the_next_claim(
    services: Services, guild: str
) -> None:
    await set_streak(services, guild, member(1), streak=20, last_daily=TODAY - timedelta(days=2))
    view = await balance_view(services, guild, member(1))
    assert (view.streak_count, view.tier, view.daily_available) == (0, "NONE", True)
    await set_streak(services, guild, member(2), streak=20, last_daily=TODAY - timedelta(days=1))
    view = await balance_view(services, guild, member(2))
    assert (view.streak_count, view.tier, view.multiplier) == (20, "SHORT", 4)


async def test_eighth_consecutive_day_pays_double(services: Services, guild: str) -> None:
    await set_streak(services, guild, member(1), streak=7, last_daily=TODAY - timedelta(days=1))
    result = await claim(services, guild, member(1))
    assert (result.streak_count, result.multiplier, result.tier) == (8, 2, "CHAR")
    assert result.awarded == 20
    assert result.balance == 120


@pytest.mark.parametrize(
    ("streak", "tier", "multiplier"),
    [(15, "SHORT", 4), (31, "INT", 8), (63, "LONG", 16), (99, "LONG", 16)],
)
async def test_default_tiers_pay_their_multiplier(
    services: Services, guild: str, streak: int, tier: str, multiplier: int
) -> None:
    await set_streak(
        services, guild, member(1), streak=streak, last_daily=TODAY - timedelta(days=1)
    )
    result = await claim(services, guild, member(1))
    assert (result.streak_count, result.tier, result.awarded) == (streak + 1, tier, 10 * multiplier)


async def test_custom_table_pays_2560_at_a_hundred_days(services: Services, guild: str) -> None:
    await configure(services, guild, streak_bonuses={8: 2, 16: 4, 32: 16, 64: 256})
    await set_streak(services, guild, member(1), streak=99, last_daily=TODAY - timedelta(days=1))
    result = await claim(services, guild, member(1))
    assert (result.streak_count, result.multiplier, result.awarded) == (100, 256, 2560)
    assert result.balance == 100 + 2560


async def test_daily_amount_is_configurable(services: Services, guild: str) -> None:
    await configure(services, guild, daily_amount=25, starting_balance=0)
    result = await claim(services, guild, member(1))
    assert (result.awarded, result.balance) == (25, 25)


async def test_zero_daily_amount_records_the_claim_without_a_posting(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, daily_amount=0)
    result = await claim(services, guild, member(1))
    assert (result.awarded, result.balance, result.transaction_id) == (0, 100, None)
    with pytest.raises(AlreadyClaimed):
        await claim(services, guild, member(1))
    clock.advance(days=1)
    assert (await claim(services, guild, member(1))).streak_count == 2


async def test_guild_timezone_decides_what_today_is(
    services: Services, guild: str, clock: FakeClock
) -> None:
    """At 23:00 in Kiritimati (UTC+14), two hours later is a new day there but not in UTC."""
    kiritimati = guild
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    await configure(services, kiritimati, timezone="Pacific/Kiritimati")
    clock.now = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)  # 23:00 on the 14th in Kiritimati
    first = await claim(services, kiritimati, member(1))
    assert first.last_daily == date(2026, 3, 14)
    await claim(services, OTHER_GUILD_ID, member(1))

    clock.advance(hours=2)  # 01:00 on the 15th in Kiritimati, 11:00 on the 14th in UTC
    second = await claim(services, kiritimati, member(1))
    assert (second.last_daily, second.streak_count, second.balance) == (date(2026, 3, 15), 2, 120)
    with pytest.raises(AlreadyClaimed) as caught:
        await claim(services, OTHER_GUILD_ID, member(1))
    assert caught.value.fields["retry_after_seconds"] == 13 * 3600


async def test_new_day_opens_at_local_midnight_west_of_utc(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, timezone="America/Los_Angeles")
    clock.now = datetime(2026, 3, 14, 6, 0, tzinfo=UTC)  # 23:00 on the 13th in Los Angeles (PDT)
    assert (await claim(services, guild, member(1))).last_daily == date(2026, 3, 13)
    clock.advance(minutes=59)
    with pytest.raises(AlreadyClaimed):
        await claim(services, guild, member(1))
    clock.advance(minutes=2)  # 00:01 on the 14th in Los Angeles
    result = await claim(services, guild, member(1))
    assert (result.last_daily, result.streak_count) == (date(2026, 3, 14), 2)


async def test_claims_are_per_member_and_per_guild(services: Services, guild: str) -> None:
    await claim(services, guild, member(1))
    other = await claim(services, guild, member(2))
    assert (other.balance, other.streak_count) == (110, 1)


async def test_daily_crossing_a_role_threshold_reports_the_role_once(
    services: Services, guild: str, clock: FakeClock
) -> None:
    role = "500000000000000001"
    await configure(services, guild, role_rewards={role: 15})
    assert (await claim(services, guild, member(1))).roles_earned == []  # received 10
    clock.advance(days=1)
    assert (await claim(services, guild, member(1))).roles_earned == [role]  # received 20
    clock.advance(days=1)
    assert (await claim(services, guild, member(1))).roles_earned == []  # received 30


async def test_daily_counts_with_transfers_toward_role_thresholds(
    services: Services, guild: str
) -> None:
    role = "500000000000000001"
    await configure(services, guild, role_rewards={role: 105})
    await send(services, guild, member(2), member(1), 100)
    result = await claim(services, guild, member(1))
    assert (result.total_received, result.roles_earned) == (110, [role])


async def test_daily_emits_an_event_after_commit(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        await economy.claim_daily(uow, guild_id=guild, user_id=member(1))
        names = [event.name for event in uow.events]
        await uow.commit()
        assert uow.events == []
    assert names == ["account.opened", "daily.claimed"]
