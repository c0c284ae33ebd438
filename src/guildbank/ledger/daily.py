"""A member's daily claim in one statement: open the account if new, mark the claim, pay it.

The economy decides the reward (its streak tiers, its reason text); the kernel applies it.
On PostgreSQL that is one call of ``guildbank_claim_daily`` (migration 0009): it row-locks the
guild's mint (the lock order of ``ledger/accounts.py``), opens the member's account with its
starting balance when new, marks today's claim (the streak grows after yesterday's claim,
else restarts at 1) and posts the reward, writing the same rows, ledger entries and events as
the step-by-step path below (SQLite, where ``BEGIN IMMEDIATE`` serialises writers anyway).

When the claim is all its unit of work writes, it runs autocommitted on the driver pool and
stores the unit's events itself, and the claims of a guild arriving while one of its claim
statements runs go together as the next statement (``ledger/daily_batches.py``,
``guildbank_claim_dailies``, migration 0017): the mint row is held for one statement and one
commit per batch, so many members' first dailies share the mint instead of queueing on it
one commit at a time (bench/daily.py). Otherwise (an ``Idempotency-Key`` record in the same
transaction, say) the claim runs in the unit's transaction, still in one round trip.

A claim that crosses a reward-role threshold needs its outbox jobs written with it: the
autocommitted call then writes nothing and answers ``roles``, and the claim runs again inside
the unit's transaction, where the caller enqueues the grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import BigInteger, Date, DateTime, Integer, String

from guildbank.core.errors import GuildbankError, InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import within_bounds
from guildbank.ledger.accounts import lock_mint, open_account, remember_account
from guildbank.ledger.constraints import AMOUNT_BOUNDS, BALANCE_BOUNDS, violated_constraint
from guildbank.ledger.daily_batches import ClaimTerms, claim_on_pool
from guildbank.ledger.errors import AmountOutOfRange, BalanceLimit
from guildbank.ledger.events import AccountOpened
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.members import mark_daily_claim
from guildbank.ledger.posting import post
from guildbank.ledger.types import TransactionType
from guildbank.platform.uow import UnitOfWork

__all__ = ["DailyClaim", "RewardTier", "claim_daily_reward"]

_PG_CLAIM = text(
    "SELECT o_status, o_account, o_opened, o_streak, o_award, o_balance, o_received, o_sent, "
    "o_transaction FROM guildbank_claim_daily(:guild, :user, :now, :today, :starting, :daily, "
    ":thresholds, :multipliers, :names, :reason, :roles, :store_events, :defer_roles)"
).bindparams(
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("today", type_=Date()),
    bindparam("thresholds", type_=ARRAY(Integer())),
    bindparam("multipliers", type_=ARRAY(BigInteger())),
    bindparam("names", type_=ARRAY(String())),
    bindparam("roles", type_=ARRAY(BigInteger())),
)


@dataclass(frozen=True, slots=True)
class RewardTier:
    """From ``threshold`` days of streak on (the highest reached applies), the reward is the
    daily amount times ``multiplier``; ``name`` goes into the transaction's reason."""

    threshold: int
    name: str
    multiplier: int


@dataclass(frozen=True, slots=True)
class DailyClaim:
    """What a paid claim did; ``balance`` and the totals are the member's after it."""

    account_id: int
    opened: bool
    streak: int
    award: int
    balance: int
    total_received: int
    total_sent: int
    transaction_id: int | None

    @property
    def received_before(self) -> int:
        return self.total_received - self.award


def _tier(tiers: Sequence[RewardTier], streak: int) -> RewardTier:
    """The highest tier reached (what the SQL function picks too)."""
    return max(
        (tier for tier in tiers if tier.threshold <= streak),
        key=lambda tier: tier.threshold,
        default=RewardTier(0, "NONE", 1),
    )


async def claim_daily_reward(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    today: date,
    starting_balance: int,
    daily_amount: int,
    tiers: Sequence[RewardTier],
    reason: str,
    role_thresholds: Iterable[int] = (),
) -> DailyClaim | None:
    """Claim ``today``'s reward for the member (None when they already have).

    ``reason`` is a ``%s`` template filled with the streak, the tier's name and multiplier.
    ``role_thresholds`` are the totals received that earn a reward role: a claim crossing one
    runs in the unit's transaction (module docstring). Refusals: InvalidInput for a user id
    that is not a snowflake, BalanceLimit / AmountOutOfRange beyond the bound of money.
    """
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")
    largest = daily_amount * max((tier.multiplier for tier in tiers), default=1)
    if uow.services.dialect != "postgresql" or not within_bounds(largest):
        # Step by step: SQLite, or an award the bound may refuse (``post`` names it).
        return await _claim_in_steps(
            uow, guild_id, user_id, today, starting_balance, daily_amount, tiers, reason
        )
    arguments: dict[str, Any] = {
        "guild": guild_id,
        "user": user_id,
        "now": uow.now,
        "today": today,
        "starting": starting_balance,
        "daily": daily_amount,
        "thresholds": [tier.threshold for tier in tiers],
        "multipliers": [tier.multiplier for tier in tiers],
        "names": [tier.name for tier in tiers],
        "reason": reason,
        "roles": sorted(set(role_thresholds)),
    }
    if not uow.began:
        pool = await uow.standalone_pool()
        source = uow.services.driver_pool
        # PostgreSQL always has the driver pool.
        assert pool is not None
        assert source is not None
        terms = ClaimTerms(
            guild_id=guild_id,
            today=today,
            starting_balance=starting_balance,
            daily_amount=daily_amount,
            thresholds=tuple(arguments["thresholds"]),
            multipliers=tuple(arguments["multipliers"]),
            names=tuple(arguments["names"]),
            reason=reason,
            role_thresholds=tuple(arguments["roles"]),
        )
        try:
            row = await claim_on_pool(source, pool, terms, user_id, uow.now)
        except asyncpg.IntegrityConstraintViolationError as error:
            refusal = _refusal(error)
            if refusal is None:
                raise
            raise refusal from None
        if row[0] != "roles":
            claim = _claimed(row)
            if claim is not None:
                uow.wrote_standalone(events_stored=True)
                _opened(uow, guild_id, user_id, claim, starting_balance)
            return claim
    try:
        row = (
            await uow.session.execute(
                _PG_CLAIM, {**arguments, "store_events": False, "defer_roles": False}
            )
        ).one()
    except IntegrityError as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        await uow.rollback()
        raise refusal from None
    claim = _claimed(row)
    if claim is not None:
        _opened(uow, guild_id, user_id, claim, starting_balance)
    return claim


def _claimed(row: Any) -> DailyClaim | None:
    if row[0] == "claimed":
        return None
    return DailyClaim(*tuple(row)[1:])


def _opened(
    uow: UnitOfWork, guild_id: str, user_id: str, claim: DailyClaim, starting_balance: int
) -> None:
    remember_account(uow, guild_id, user_id, claim.account_id)
    if claim.opened:
        uow.emit(AccountOpened(guild_id=guild_id, user_id=user_id, balance=starting_balance))


def _refusal(error: Exception) -> GuildbankError | None:
    """A bound of money the claim would cross (migration 0008), as the ledger names it."""
    constraint = violated_constraint(error)
    if constraint in BALANCE_BOUNDS:
        return BalanceLimit()
    if constraint in AMOUNT_BOUNDS:
        return AmountOutOfRange()
    return None


async def _claim_in_steps(
    uow: UnitOfWork,
    guild_id: str,
    user_id: str,
    today: date,
    starting_balance: int,
    daily_amount: int,
    tiers: Sequence[RewardTier],
    reason: str,
) -> DailyClaim | None:
    """The claim as separate statements in the unit's transaction (SQLite's path)."""
    account, opened = await open_account(uow, guild_id, user_id, starting_balance=starting_balance)
    mint = await lock_mint(uow, guild_id)  # before the member row: see lock_mint
    marked = await mark_daily_claim(uow, account, today=today)
    if marked is None:
        return None
    tier = _tier(tiers, marked.streak)
    award = daily_amount * tier.multiplier
    claim = DailyClaim(
        account_id=account,
        opened=opened,
        streak=marked.streak,
        award=award,
        balance=marked.balance,
        total_received=marked.total_received,
        total_sent=marked.total_sent,
        transaction_id=None,
    )
    if award <= 0:
        return claim
    posted = await post(
        uow,
        guild_id=guild_id,
        type=TransactionType.DAILY,
        legs=transfer_legs(source=mint, target=account, amount=award),
        reason=reason % (marked.streak, tier.name, tier.multiplier),
        actor_id=user_id,
    )
    entry = posted.entry(account)
    return DailyClaim(
        account_id=account,
        opened=opened,
        streak=marked.streak,
        award=award,
        balance=entry.balance_after,
        total_received=entry.total_received,
        total_sent=marked.total_sent,
        transaction_id=posted.id,
    )
