"""The ledger integrity check: reports every discrepancy, never fixes anything silently.

Checks, per guild: each account's cached balance equals the sum of its entries and its
last entry's balance_after; consecutive entries of an account chain (before = previous
after); every transaction has two or more entries summing to zero; all accounts of the
guild, system ones included, sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import aliased

from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = ["IntegrityReport", "check_integrity"]


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    guild_id: str
    ok: bool
    accounts: int
    transactions: int
    total: int
    problems: list[dict[str, Any]] = field(default_factory=list)


async def check_integrity(uow: UnitOfWork, *, guild_id: str) -> IntegrityReport:
    """Check one guild's ledger; the caller first makes sure the guild exists (an unknown
    guild would read as an empty, consistent ledger)."""
    session = uow.session
    problems: list[dict[str, Any]] = []

    sums = (
        select(
            LedgerEntry.account_id,
            # PostgreSQL sums bigints as numeric (Decimal); report plain integers on both.
            cast(func.sum(LedgerEntry.amount), BigInteger).label("total"),
            func.max(LedgerEntry.id).label("last_id"),
        )
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    last = aliased(LedgerEntry)
    rows = (
        await session.execute(
            select(
                Account.id,
                Account.user_id,
                Account.balance,
                func.coalesce(sums.c.total, 0),
                last.balance_after,
            )
            .outerjoin(sums, sums.c.account_id == Account.id)
            .outerjoin(last, last.id == sums.c.last_id)
            .where(Account.guild_id == guild_id)
        )
    ).all()
    guild_total = 0
    for account_id, user_id, balance, entry_sum, last_after in rows:
        guild_total += balance
        if balance != entry_sum:
            problems.append(
                {
                    "code": "balance_mismatch",
                    "account_id": account_id,
                    "user_id": user_id,
                    "balance": balance,
                    "entries_sum": entry_sum,
                    "detail": f"{user_id}: balance {balance} but entries sum to {entry_sum}",
                }
            )
        if last_after is not None and last_after != balance:
            problems.append(
                {
                    "code": "last_balance_mismatch",
                    "account_id": account_id,
                    "user_id": user_id,
                    "balance": balance,
                    "last_balance_after": last_after,
                    "detail": f"{user_id}: balance {balance} but last entry left {last_after}",
                }
            )

    previous_after = func.lag(LedgerEntry.balance_after).over(
        partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id
    )
    chain = (
        select(
            LedgerEntry.id,
            LedgerEntry.account_id,
            LedgerEntry.balance_before,
            previous_after.label("previous_after"),
        )
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.guild_id == guild_id)
        .subquery()
    )
    for entry_id, account_id, before, prev in (
        await session.execute(
            select(chain).where(
                chain.c.previous_after.is_not(None),
                chain.c.balance_before != chain.c.previous_after,
            )
        )
    ).all():
        problems.append(
            {
                "code": "broken_chain",
                "entry_id": entry_id,
                "account_id": account_id,
                "detail": f"entry {entry_id} starts at {before} but the previous entry left {prev}",
            }
        )

    unbalanced = (
        await session.execute(
            select(
                LedgerTransaction.id,
                cast(func.coalesce(func.sum(LedgerEntry.amount), 0), BigInteger),
                func.count(LedgerEntry.id),
            )
            .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(LedgerTransaction.guild_id == guild_id)
            .group_by(LedgerTransaction.id)
            .having(
                (func.coalesce(func.sum(LedgerEntry.amount), 0) != 0)
                | (func.count(LedgerEntry.id) < 2)
            )
        )
    ).all()
    for tx_id, total, count in unbalanced:
        problems.append(
            {
                "code": "unbalanced_transaction",
                "transaction_id": tx_id,
                "sum": total,
                "entries": count,
                "detail": f"transaction {tx_id} has {count} entries summing to {total}",
            }
        )

    transactions = (
        await session.execute(select(func.count()).where(LedgerTransaction.guild_id == guild_id))
    ).scalar_one()
    if guild_total != 0:
        problems.append(
            {
                "code": "guild_total_nonzero",
                "total": guild_total,
                "detail": f"all accounts of the guild sum to {guild_total}, not 0",
            }
        )
    return IntegrityReport(guild_id, not problems, len(rows), transactions, guild_total, problems)
