"""The account-row statements the members tools need besides money: the departed members a
cleanup takes (row-locked), every member a reset takes, clearing streaks, remembering names.

Money itself moves only through the ledger kernel (``ledger.posting``); these statements touch
the non-money columns of ``accounts`` (streak, display name) and lock rows in the kernel's
order (the mint first, then members by ascending id: ``ledger/accounts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, select, update

from guildbank.platform.clock import as_utc
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "Holder",
    "clear_streaks",
    "departed",
    "holders",
    "remember_names",
]


@dataclass(frozen=True, slots=True)
class Holder:
    """A member account as a cleanup or a reset sees it."""

    account_id: int
    user_id: str
    display_name: str | None
    balance: int
    streak_count: int
    last_daily: date | None
    left_at: datetime | None


async def _holders(
    uow: UnitOfWork, conditions: Sequence[ColumnElement[bool]], *, lock: bool
) -> list[Holder]:
    query = (
        select(
            Account.id,
            Account.user_id,
            Account.display_name,
            Account.balance,
            Account.streak_count,
            Account.last_daily,
            Account.left_at,
        )
        .where(*conditions)
        .order_by(Account.id)
    )
    rows = (await uow.session.execute(query.with_for_update() if lock else query)).all()
    return [
        Holder(r[0], r[1], r[2], r[3], r[4], r[5], as_utc(r[6]) if r[6] is not None else None)
        for r in rows
    ]


async def departed(
    uow: UnitOfWork, *, guild_id: str, cutoff: datetime, lock: bool = False
) -> list[Holder]:
    """Members who left at or before ``cutoff`` and still hold money or a streak, by id.

    ``lock`` row-locks them (the caller locked the mint first). On PostgreSQL a row that
    changed meanwhile is checked again once its lock is free: a member who came back, or
    whose balance and streak are already zero, drops out.
    """
    return await _holders(
        uow,
        [
            Account.guild_id == guild_id,
            ~Account.is_system,
            ~Account.is_active,
            Account.left_at.is_not(None),
            Account.left_at <= cutoff,
            (Account.balance > 0) | (Account.streak_count > 0),
        ],
        lock=lock,
    )


async def holders(uow: UnitOfWork, *, guild_id: str, lock: bool = False) -> list[Holder]:
    """Every member account holding money or a streak, by id (``lock``: see ``departed``)."""
    return await _holders(
        uow,
        [
            Account.guild_id == guild_id,
            ~Account.is_system,
            (Account.balance > 0) | (Account.streak_count > 0),
        ],
        lock=lock,
    )


async def clear_streaks(uow: UnitOfWork, accounts: Sequence[int]) -> int:
    """Clear these accounts' streaks (the next daily starts again at 1); how many changed.

    ``last_daily`` stays: a member cleared today cannot claim a second daily today.
    """
    if not accounts:
        return 0
    changed = 0
    for start in range(0, len(accounts), 500):
        result = await uow.session.execute(
            update(Account)
            .where(Account.id.in_(list(accounts[start : start + 500])), Account.streak_count != 0)
            .values(streak_count=0, updated_at=uow.now)
        )
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    return changed


async def remember_names(uow: UnitOfWork, *, guild_id: str, names: Mapping[str, str]) -> int:
    """Store the names members go by (of those with an account); how many changed."""
    changed = 0
    for user_id, name in names.items():
        result = await uow.session.execute(
            update(Account)
            .where(
                Account.guild_id == guild_id,
                Account.user_id == user_id,
                ~Account.is_system,
                Account.display_name.is_distinct_from(name),
            )
            .values(display_name=name)
        )
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    return changed
