"""Daily claims of one guild batched into one statement (ledger/daily_batches.py, PostgreSQL).

Claims that arrive while a claim statement of their guild runs go together as the next one
(``guildbank_claim_dailies``, migration 0017). Each must answer, write and store exactly what
it would have alone: the same rows, entries (the mint's chain included), events, refusals.
SQLite claims step by step in ``BEGIN IMMEDIATE`` transactions and never batches.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from guildbank.core.limits import MAX_AMOUNT
from guildbank.features.economy.errors import AlreadyClaimed
from guildbank.features.economy.events import DailyClaimed
from guildbank.features.economy.schemas import DailyOut
from guildbank.ledger import daily_batches
from guildbank.ledger.daily import RewardTier, claim_daily_reward
from guildbank.ledger.errors import BalanceLimit
from guildbank.ledger.events import AccountOpened
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import START, FakeClock
from tests.factories import claim, configure, member, open_account
from tests.ledger.test_daily import assert_consistent, entries_of, stored_events

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

T = TypeVar("T")
TODAY = START.date()
ROLE = "500000000000000001"
REASON = "Daily reward (streak %s, %s x%s)"


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every statement the guild's claims went in (1: claimed alone)."""
    sizes: list[int] = []
    send = daily_batches._send

    async def recorded(pool: Any, terms: Any, batch: Sequence[Any]) -> None:
        sizes.append(len(batch))
        await send(pool, terms, batch)

    monkeypatch.setattr(daily_batches, "_send", recorded)
    return sizes


async def together(*claims: Awaitable[T]) -> list[T | BaseException]:
    return await asyncio.gather(*claims, return_exceptions=True)


async def warm(services: Services, guild: str) -> None:
    """One claim first, so the guild's settings are cached and the claims below arrive at once."""
    await claim(services, guild, member(999))


async def test_claims_arriving_together_are_paid_in_one_statement_as_if_alone(
    services: Services, guild: str, clock: FakeClock, batches: list[int]
) -> None:
    await warm(services, guild)
    await claim(services, guild, member(1))
    clock.advance(days=1)
    await claim(services, guild, member(999))  # yesterday's claimers: a streak of 2 follows
    batches.clear()
    newcomers = [member(10 + n) for n in range(8)]

    results = await together(*(claim(services, guild, user) for user in [*newcomers, member(1)]))

    assert max(batches) > 1, batches
    assert sum(batches) == len(newcomers) + 1
    assert services.driver_pool is not None
    assert not daily_batches._queues.get(services.driver_pool)  # drained queues are dropped
    by_user = dict(zip([*newcomers, member(1)], results, strict=True))
    for user in newcomers:
        out = by_user[user]
        assert isinstance(out, DailyOut)
        assert (out.balance, out.total_received, out.streak_count, out.awarded) == (110, 10, 1, 10)
        assert out.transaction_id is not None
        assert await entries_of(services, guild, user) == [
            ("starting_balance", "Starting balance", 100, 0, 100),
            ("daily", "Daily reward (streak 1, NONE x1)", 10, 100, 110),
        ]
    known = by_user[member(1)]
    assert isinstance(known, DailyOut)
    assert (known.balance, known.streak_count) == (120, 2)
    assert len({out.transaction_id for out in results if isinstance(out, DailyOut)}) == 9
    # The mint's entries chain across the batch, claim after claim.
    mint = await entries_of(services, guild, "mint")
    assert all(after == mint[i + 1][3] for i, (*_, after) in enumerate(mint[:-1]))
    assert mint[-1][4] == -(110 * 10 + 10 * 2)  # ten openings, two second days
    # Each member's events are those it would have stored alone, in the same order.
    events = await stored_events(services, guild)
    for user in newcomers:
        out = by_user[user]
        assert isinstance(out, DailyOut)
        mine = [(name, data) for name, data in events if data["user_id"] == user]
        assert mine == [
            (
                AccountOpened.name,
                AccountOpened(guild_id=guild, user_id=user, balance=100).payload(),
            ),
            (
                DailyClaimed.name,
                DailyClaimed(
                    guild_id=guild,
                    user_id=user,
                    amount=10,
                    streak=1,
                    balance=110,
                    roles_earned=[],
                ).payload(),
            ),
        ]
    await assert_consistent(services, guild)


async def test_a_member_claiming_twice_in_one_burst_is_paid_once(
    services: Services, guild: str, batches: list[int]
) -> None:
    await warm(services, guild)
    users = [member(1), member(2), member(1), member(3), member(1)]

    results = await together(*(claim(services, guild, user) for user in users))

    assert max(batches) > 1, batches
    assert Counter(type(result).__name__ for result in results) == Counter(
        {"DailyOut": 3, "AlreadyClaimed": 2}
    )
    assert all(isinstance(results[i], AlreadyClaimed) for i in (2, 4))
    assert len(await entries_of(services, guild, member(1))) == 2
    await assert_consistent(services, guild)


async def test_claims_crossing_a_reward_role_are_claimed_again_with_their_jobs(
    services: Services, guild: str, batches: list[int]
) -> None:
    await warm(services, guild)
    await configure(services, guild, role_rewards={ROLE: 10})
    users = [member(n) for n in range(1, 6)]

    results = await together(*(claim(services, guild, user) for user in users))

    assert all(isinstance(out, DailyOut) and out.roles_earned == [ROLE] for out in results)
    async with unit_of_work(services, read_only=True) as uow:
        jobs = (
            await uow.session.execute(
                select(OutboxJob.payload).where(
                    OutboxJob.guild_id == guild, OutboxJob.kind == "role.grant"
                )
            )
        ).all()
        dailies = (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild, LedgerTransaction.type == "daily"
                )
            )
        ).scalar_one()
    assert sorted(payload["user_id"] for (payload,) in jobs) == sorted(users)
    assert dailies == len(users) + 1
    names = Counter(data["user_id"] for name, data in await stored_events(services, guild))
    assert all(names[user] == 2 for user in users)  # opened, claimed: once each
    await assert_consistent(services, guild)


async def test_a_batch_refused_by_one_claim_pays_the_others_and_refuses_only_that_one(
    services: Services, guild: str, batches: list[int]
) -> None:
    """Three claims of more than a third of the bound each: the mint can pay two at most
    (the batch statement is refused whole, and each claim runs alone)."""
    await warm(services, guild)
    award = MAX_AMOUNT // 3 + 1
    issued = 110  # member(999)'s opening and claim

    async def big_claim(user: str) -> object:
        async with unit_of_work(services) as uow:
            result = await claim_daily_reward(
                uow,
                guild_id=guild,
                user_id=user,
                today=TODAY,
                starting_balance=0,
                daily_amount=award,
                tiers=[RewardTier(0, "NONE", 1)],
                reason=REASON,
            )
            await uow.commit()
        return result

    results = await together(*(big_claim(member(n)) for n in range(1, 4)))

    assert max(batches) > 1, batches
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 3 - (MAX_AMOUNT - issued) // award
    assert all(isinstance(r, BalanceLimit) for r in refused), refused
    mint = await entries_of(services, guild, "mint")
    assert mint[-1][4] == -issued - award * (3 - len(refused))
    await assert_consistent(services, guild)


async def test_a_member_whose_row_is_held_is_claimed_alone_without_holding_up_the_batch(
    services: Services, guild: str, batches: list[int]
) -> None:
    await warm(services, guild)
    await open_account(services, guild, member(1))
    pool = await services.standalone_pool()
    assert pool is not None
    holder = await pool.acquire()
    transaction = holder.transaction()
    await transaction.start()
    try:
        await holder.execute(
            "SELECT id FROM accounts WHERE guild_id = $1 AND user_id = $2 FOR UPDATE",
            guild,
            member(1),
        )
        newcomers = [asyncio.create_task(claim(services, guild, member(n))) for n in (2, 3, 4)]
        held = asyncio.create_task(claim(services, guild, member(1)))
        paid = await asyncio.wait_for(asyncio.gather(*newcomers), timeout=30)
        assert [out.balance for out in paid] == [110] * 3
        assert not held.done()
    finally:
        await transaction.rollback()
        await pool.release(holder)
    out = await asyncio.wait_for(held, timeout=30)
    assert (out.balance, out.streak_count) == (110, 1)
    assert max(batches) > 1, batches
    await assert_consistent(services, guild)


async def test_the_batch_statement_skips_a_held_member_and_pays_the_rest(
    services: Services, guild: str
) -> None:
    """``guildbank_claim_dailies`` itself: never waits for a member row, answers ``busy``."""
    await warm(services, guild)
    await open_account(services, guild, member(1))
    pool = await services.standalone_pool()
    assert pool is not None
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT id FROM accounts WHERE guild_id = $1 AND user_id = $2 FOR UPDATE",
            guild,
            member(1),
        )
        rows = await asyncio.wait_for(
            pool.fetch(
                "SELECT o_user, o_status, o_balance FROM guildbank_claim_dailies($1, $2, $3, $4, "
                "100, 10, '{0}', '{1}', '{NONE}', $5, '{}')",
                guild,
                [member(2), member(1), member(3)],
                [START, START, START],
                TODAY,
                REASON,
            ),
            timeout=30,
        )
    assert [tuple(row) for row in rows] == [
        (member(2), "paid", 110),
        (member(1), "busy", None),
        (member(3), "paid", 110),
    ]
    await assert_consistent(services, guild)
