"""The daily claim as the kernel applies it (ledger/daily.py), on both backends.

PostgreSQL runs it as one statement (``guildbank_claim_daily``), SQLite step by step: the
same rows, entries, events and outbox jobs must come out of both.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update

from guildbank.features.economy import service as economy
from guildbank.features.economy.events import DailyClaimed
from guildbank.features.economy.streaks import tier_for
from guildbank.ledger import integrity
from guildbank.ledger.daily import RewardTier, claim_daily_reward
from guildbank.ledger.errors import BalanceLimit
from guildbank.ledger.events import AccountOpened
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import START, FakeClock
from tests.factories import claim, configure, member, set_streak

TODAY = START.date()
ROLE = "500000000000000001"


async def stored_events(services: Services, guild_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The guild's stored account and daily events, oldest first."""
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry.name, EventLogEntry.data)
                .where(
                    EventLogEntry.guild_id == guild_id,
                    EventLogEntry.name.in_([AccountOpened.name, DailyClaimed.name]),
                )
                .order_by(EventLogEntry.id)
            )
        ).all()
    return [(name, data) for name, data in rows]


async def entries_of(services: Services, guild_id: str, user_id: str) -> list[tuple[Any, ...]]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(
                    LedgerTransaction.type,
                    LedgerTransaction.reason,
                    LedgerEntry.amount,
                    LedgerEntry.balance_before,
                    LedgerEntry.balance_after,
                )
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .join(Account, Account.id == LedgerEntry.account_id)
                .where(Account.guild_id == guild_id, Account.user_id == user_id)
                .order_by(LedgerEntry.id)
            )
        ).all()
    return [tuple(row) for row in rows]


async def assert_consistent(services: Services, guild_id: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.ok, report.problems


async def test_a_first_claim_opens_the_account_and_pays_from_the_mint(
    services: Services, guild: str
) -> None:
    result = await claim(services, guild, member(1))

    assert (result.balance, result.total_received, result.streak_count) == (110, 10, 1)
    assert await entries_of(services, guild, member(1)) == [
        ("starting_balance", "Starting balance", 100, 0, 100),
        ("daily", "Daily reward (streak 1, NONE x1)", 10, 100, 110),
    ]
    assert await entries_of(services, guild, "mint") == [
        ("starting_balance", "Starting balance", -100, 0, -100),
        ("daily", "Daily reward (streak 1, NONE x1)", -10, -100, -110),
    ]
    await assert_consistent(services, guild)


async def test_stored_events_are_the_payloads_python_would_store(
    services: Services, guild: str, clock: FakeClock
) -> None:
    """PostgreSQL's statement writes the events itself: they must be the events' payloads."""
    first = await claim(services, guild, member(1))
    clock.advance(days=1)
    second = await claim(services, guild, member(1))

    expected = [
        (AccountOpened.name, AccountOpened(guild_id=guild, user_id=member(1), balance=100)),
        *(
            (
                DailyClaimed.name,
                DailyClaimed(
                    guild_id=guild,
                    user_id=member(1),
                    amount=out.awarded,
                    streak=out.streak_count,
                    balance=out.balance,
                    roles_earned=[],
                ),
            )
            for out in (first, second)
        ),
    ]
    assert await stored_events(services, guild) == [
        (name, event.payload()) for name, event in expected
    ]


async def test_a_custom_tier_table_pays_what_tier_for_says(services: Services, guild: str) -> None:
    bonuses = {3: 5, 10: 7}
    await configure(services, guild, streak_bonuses=bonuses, daily_amount=3)
    for n, streak_before in enumerate((0, 1, 2, 5, 9, 10, 40), start=1):
        if streak_before:
            await set_streak(
                services, guild, member(n), streak=streak_before, last_daily=TODAY - timedelta(1)
            )
        result = await claim(services, guild, member(n))
        tier = tier_for(streak_before + 1, bonuses)
        assert (result.streak_count, result.multiplier, result.tier) == (
            streak_before + 1,
            tier.multiplier,
            tier.name,
        )
        assert result.awarded == 3 * tier.multiplier
        reason = f"Daily reward (streak {streak_before + 1}, {tier.name} x{tier.multiplier})"
        assert (await entries_of(services, guild, member(n)))[-1][:3] == (
            "daily",
            reason,
            3 * tier.multiplier,
        )
    await assert_consistent(services, guild)


async def test_a_claim_crossing_a_reward_role_writes_its_grant_job_once(
    services: Services, guild: str
) -> None:
    """The one-statement claim cannot write the outbox job: it steps aside, unwritten, and
    the claim runs in the unit's transaction with the job."""
    await configure(services, guild, role_rewards={ROLE: 10})
    result = await claim(services, guild, member(1))

    assert result.roles_earned == [ROLE]
    async with unit_of_work(services, read_only=True) as uow:
        jobs = (
            await uow.session.execute(
                select(OutboxJob.kind, OutboxJob.payload).where(OutboxJob.guild_id == guild)
            )
        ).all()
        dailies = (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild, LedgerTransaction.type == "daily"
                )
            )
        ).scalar_one()
    assert [(kind, payload["role_id"]) for kind, payload in jobs] == [("role.grant", ROLE)]
    assert dailies == 1
    names = [name for name, _ in await stored_events(services, guild)]
    assert names.count("daily.claimed") == 1
    await assert_consistent(services, guild)


async def test_inside_a_begun_unit_the_claim_is_part_of_its_transaction(
    services: Services, guild: str
) -> None:
    """E.g. a claim with an Idempotency-Key: rolled back with the unit, nothing remains."""
    await claim(services, guild, member(1))  # the guild's settings are cached now
    async with unit_of_work(services) as uow:
        await uow.session.execute(text("SELECT 1"))  # the unit began its transaction
        result = await economy.claim_daily(uow, guild_id=guild, user_id=member(2))
        assert result.balance == 110
        await uow.rollback()
    async with unit_of_work(services, read_only=True) as uow:
        opened = (
            await uow.session.execute(
                select(func.count()).where(Account.guild_id == guild, Account.user_id == member(2))
            )
        ).scalar_one()
    assert opened == 0
    await assert_consistent(services, guild)


# SQLite serialises writers with BEGIN IMMEDIATE; its claims go step by step.
@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_known_member_claims_in_one_statement_on_postgresql(
    services: Services, guild: str, clock: FakeClock
) -> None:
    """The mint is held for one statement: the unit never begins a transaction of its own,
    and nothing touches the ledger through SQLAlchemy (the relay's passes may)."""
    await claim(services, guild, member(1))
    clock.advance(days=1)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        if "accounts" in args[2] or "ledger_" in args[2]:
            statements.append(args[2])

    event.listen(services.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with unit_of_work(services) as uow:
            first = await economy.claim_daily(uow, guild_id=guild, user_id=member(2))
            assert not uow.began
            await uow.commit()
        async with unit_of_work(services) as uow:
            again = await economy.claim_daily(uow, guild_id=guild, user_id=member(1))
            assert not uow.began
            await uow.commit()
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", seen)
    assert statements == []
    assert (first.balance, again.balance, again.streak_count) == (110, 120, 2)


async def test_a_claim_beyond_the_bound_of_money_is_refused_whole(
    services: Services, guild: str
) -> None:
    await claim(services, guild, member(1))
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild, Account.user_id == member(1))
            .values(last_daily=None)
        )
        await uow.commit()
    async with unit_of_work(services) as uow:
        with pytest.raises(BalanceLimit):
            await claim_daily_reward(
                uow,
                guild_id=guild,
                user_id=member(1),
                today=TODAY,
                starting_balance=100,
                daily_amount=2**53 - 50,
                tiers=[RewardTier(0, "NONE", 1)],
                reason="Daily reward (streak %s, %s x%s)",
            )
    await assert_consistent(services, guild)
