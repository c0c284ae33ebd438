"""Read models: balances, leaderboards, histories and the transaction log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import aliased

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.economy import ranks
from guildbank.features.economy.ranks import ranked_members
from guildbank.features.economy.rules import roles_earned
from guildbank.features.economy.schemas import (
    BalanceOut,
    EntryOut,
    LeaderboardEntryOut,
    RoleRewardHolderOut,
    TransactionOut,
)
from guildbank.features.economy.streaks import tier_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import guild_today
from guildbank.ledger.errors import TransactionNotFound
from guildbank.platform.clock import as_utc
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "BalanceView",
    "TransactionSort",
    "get_balance",
    "get_transaction",
    "history",
    "leaderboard",
    "list_transactions",
    "member_standing",
    "rank_of",
    "role_reward_holders",
]

TransactionSort = Literal["newest", "oldest", "largest", "smallest"]


class BalanceView(BalanceOut):
    """A member's balance as the API shows it, plus whether the account exists yet (an
    unknown member reads as the starting balance; callers such as tests can tell)."""

    exists: bool = Field(exclude=True)


def _check_user(user_id: str) -> None:
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")


async def get_balance(uow: UnitOfWork, *, guild_id: str, user_id: str) -> BalanceView:
    """A member's balance; an unknown member reads as the starting balance, nothing created."""
    config = await get_config(uow, guild_id)
    _check_user(user_id)
    row = (
        await uow.session.execute(
            select(Account).where(Account.guild_id == guild_id, Account.user_id == user_id)
        )
    ).scalar_one_or_none()
    today = guild_today(config.timezone, uow.now)
    if row is None:
        return BalanceView(
            guild_id=guild_id,
            user_id=user_id,
            balance=config.starting_balance,
            total_received=0,
            total_sent=0,
            streak_count=0,
            last_daily=None,
            daily_available=True,
            tier="NONE",
            multiplier=1,
            is_active=True,
            exists=False,
        )
    streak_alive = row.last_daily is not None and (today - row.last_daily).days <= 1
    streak = row.streak_count if streak_alive else 0
    tier = tier_for(streak, config.streak_bonuses)
    return BalanceView(
        guild_id=guild_id,
        user_id=user_id,
        balance=row.balance,
        total_received=row.total_received,
        total_sent=row.total_sent,
        streak_count=streak,
        last_daily=row.last_daily,
        daily_available=row.last_daily is None or row.last_daily < today,
        tier=tier.name,
        multiplier=tier.multiplier,
        is_active=row.is_active,
        exists=True,
    )


async def leaderboard(uow: UnitOfWork, *, guild_id: str, limit: int) -> list[LeaderboardEntryOut]:
    """Richest active members; ties go to whoever opened their account first (the first
    ``limit`` entries of the leaderboard index: an index-only scan on PostgreSQL)."""
    await get_config(uow, guild_id)
    rows = await ranks.first_entries(uow, guild_id, limit)
    return [
        LeaderboardEntryOut(rank=i + 1, user_id=r[0], balance=r[1], total_received=r[2])
        for i, r in enumerate(rows)
    ]


async def rank_of(uow: UnitOfWork, *, guild_id: str, user_id: str) -> LeaderboardEntryOut | None:
    """The member's position on the leaderboard (None when absent or inactive); exact near
    the top and in small guilds, an estimate (``rank_exact`` false) deep in a large one."""
    return (await member_standing(uow, guild_id=guild_id, user_id=user_id)).entry


async def member_standing(uow: UnitOfWork, *, guild_id: str, user_id: str) -> ranks.Standing:
    """The member's rank and the guild's member count, each saying whether it is exact
    (``ranks.standing``: milliseconds at any guild size)."""
    await get_config(uow, guild_id)
    _check_user(user_id)
    return await ranks.standing(uow, guild_id=guild_id, user_id=user_id)


async def _views(
    uow: UnitOfWork, transactions: Sequence[LedgerTransaction]
) -> list[TransactionOut]:
    if not transactions:
        return []
    rows = (
        await uow.session.execute(
            select(
                LedgerEntry.transaction_id,
                Account.user_id,
                LedgerEntry.amount,
                LedgerEntry.balance_before,
                LedgerEntry.balance_after,
            )
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.transaction_id.in_([t.id for t in transactions]))
            .order_by(LedgerEntry.id)
        )
    ).all()
    entries: dict[int, list[EntryOut]] = {}
    for tx_id, user, amount, before, after in rows:
        entries.setdefault(tx_id, []).append(
            EntryOut(user_id=user, amount=amount, balance_before=before, balance_after=after)
        )
    return [
        TransactionOut(
            id=t.id,
            guild_id=t.guild_id,
            type=t.type,
            amount=t.amount,
            reason=t.reason,
            actor_id=t.actor_id,
            reverses_id=t.reverses_id,
            created_at=as_utc(t.created_at),
            entries=entries.get(t.id, []),
        )
        for t in transactions
    ]


async def list_transactions(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str | None = None,
    type: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: TransactionSort = "newest",
) -> list[TransactionOut]:
    """The guild's transaction log, filtered and paged."""
    await get_config(uow, guild_id)
    query = select(LedgerTransaction).where(LedgerTransaction.guild_id == guild_id)
    if user_id is not None:
        _check_user(user_id)
        member = aliased(Account)
        query = query.where(
            LedgerTransaction.id.in_(
                select(LedgerEntry.transaction_id)
                .join(member, member.id == LedgerEntry.account_id)
                .where(member.guild_id == guild_id, member.user_id == user_id)
            )
        )
    if type is not None:
        query = query.where(LedgerTransaction.type == type)
    # SQLite compares timestamps as UTC text: bounds in another offset must be converted.
    if start is not None:
        query = query.where(LedgerTransaction.created_at >= as_utc(start).astimezone(UTC))
    if end is not None:
        query = query.where(LedgerTransaction.created_at < as_utc(end).astimezone(UTC))
    order: tuple[Any, ...] = {
        "newest": (LedgerTransaction.created_at.desc(), LedgerTransaction.id.desc()),
        "oldest": (LedgerTransaction.created_at.asc(), LedgerTransaction.id.asc()),
        "largest": (LedgerTransaction.amount.desc(), LedgerTransaction.id.desc()),
        "smallest": (LedgerTransaction.amount.asc(), LedgerTransaction.id.asc()),
    }[sort]
    rows = (await uow.session.execute(query.order_by(*order).limit(limit).offset(offset))).scalars()
    return await _views(uow, list(rows))


async def history(
    uow: UnitOfWork, *, guild_id: str, user_id: str, limit: int = 10, offset: int = 0
) -> list[TransactionOut]:
    """A member's own transactions, newest first."""
    return await list_transactions(
        uow, guild_id=guild_id, user_id=user_id, limit=limit, offset=offset
    )


async def get_transaction(uow: UnitOfWork, *, guild_id: str, transaction_id: int) -> TransactionOut:
    await get_config(uow, guild_id)
    row = (
        await uow.session.execute(
            select(LedgerTransaction).where(
                LedgerTransaction.id == transaction_id, LedgerTransaction.guild_id == guild_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise TransactionNotFound(transaction_id)
    return (await _views(uow, [row]))[0]


RoleRewardHolder = RoleRewardHolderOut


async def role_reward_holders(uow: UnitOfWork, *, guild_id: str) -> list[RoleRewardHolder]:
    """Active members whose total received earns at least one reward role (for reconciles)."""
    config = await get_config(uow, guild_id)
    if not config.role_rewards:
        return []
    lowest = min(config.role_rewards.values())
    rows = (
        await uow.session.execute(
            select(Account.user_id, Account.total_received)
            .where(*ranked_members(guild_id), Account.total_received >= lowest)
            .order_by(Account.id)
        )
    ).all()
    return [
        RoleRewardHolder(
            user_id=user,
            total_received=received,
            role_ids=roles_earned(config.role_rewards, received),
        )
        for user, received in rows
    ]
