"""The ledger integrity check: reports every discrepancy, never fixes anything silently.

Checks, per guild: each account's cached balance equals the sum of its entries and its
last entry's balance_after; consecutive entries of an account chain (before = previous
after); every transaction of the guild has two or more entries summing to zero; all accounts
of the guild, system ones included, sum to zero.

An account whose oldest history was archived (``ledger/archive.py``) has a checkpoint: its
balance is the checkpoint's balance plus the sum of its remaining entries, and the first
remaining entry must start at the checkpoint's balance. (Archived transactions were checked
before they left; their file holds them.)

Each check is one SQL statement over the guild's rows only (its accounts and their entries
through ``ix_ledger_entries_account``, its transactions through
``ix_ledger_transactions_guild_created``), computed by the database; only the problems come
back, streamed through a server-side cursor. So a check holds no more than one batch of rows
in Python whatever the guild's size, and the event loop only waits on the database (on
SQLite, on aiosqlite's thread, which the driver leaves while SQLite works). Each statement
reads one snapshot, so writes committed meanwhile never show up as false discrepancies.
bench/integrity.py measures it against one raw SQL statement doing the same checks.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Select, and_, cast, func, literal, or_, select, true

from guildbank.platform.models.archive import LedgerCheckpoint
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = ["IntegrityReport", "LedgerSummary", "check_integrity", "problems", "summarize"]

# Rows fetched per round trip while streaming problems.
BATCH = 500


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    """What the guild's ledger holds: accounts, transactions, and the sum of all balances."""

    accounts: int
    transactions: int
    total: int


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
    found = [problem async for problem in problems(uow, guild_id=guild_id)]
    summary = await summarize(uow, guild_id=guild_id)
    if summary.total != 0:
        found.append(
            {
                "code": "guild_total_nonzero",
                "total": summary.total,
                "detail": f"all accounts of the guild sum to {summary.total}, not 0",
            }
        )
    return IntegrityReport(
        guild_id, not found, summary.accounts, summary.transactions, summary.total, found
    )


async def summarize(uow: UnitOfWork, *, guild_id: str) -> LedgerSummary:
    """Counts and the guild total, in one statement (the caller checks the total)."""
    accounts = (
        select(
            func.count().label("n"),
            _bigint(func.coalesce(func.sum(Account.balance), 0)).label("total"),
        )
        .where(Account.guild_id == guild_id)
        .subquery()
    )
    transactions = (
        select(func.count()).where(LedgerTransaction.guild_id == guild_id).scalar_subquery()
    )
    count, total, transaction_count = (
        await uow.session.execute(select(accounts.c.n, accounts.c.total, transactions))
    ).one()
    return LedgerSummary(count, transaction_count, total)


async def problems(uow: UnitOfWork, *, guild_id: str) -> AsyncGenerator[dict[str, Any], None]:
    """The guild's discrepancies, as the database finds them (all but the guild total)."""
    lateral = uow.services.dialect == "postgresql"
    async for row in _stream(uow, _account_problems(guild_id, lateral=lateral)):
        for problem in _account_row(row):
            yield problem
    unbalanced = _unbalanced_transactions(guild_id, lateral=lateral)
    async for tx_id, total, count in _stream(uow, unbalanced):
        yield {
            "code": "unbalanced_transaction",
            "transaction_id": tx_id,
            "sum": total,
            "entries": count,
            "detail": f"transaction {tx_id} has {count} entries summing to {total}",
        }


async def _stream(uow: UnitOfWork, query: Select[Any]) -> AsyncIterator[Any]:
    """The rows of ``query`` through a server-side cursor, ``BATCH`` per round trip."""
    result = await uow.session.stream(query.execution_options(yield_per=BATCH))
    try:
        async for row in result:
            yield row
    finally:
        await result.close()


def _bigint(expression: Any) -> Any:
    """PostgreSQL sums bigints as numeric (Decimal); the report shows plain integers."""
    return cast(expression, BigInteger)


def _account_problems(guild_id: str, *, lateral: bool) -> Select[Any]:
    """One pass over the guild's accounts and their entries in id order (accounts without
    entries included): the entries whose balance_before does not follow the previous entry,
    and each account's last row when its balance differs from its entries' sum or from its
    last balance_after.

    ``lateral`` (PostgreSQL): the entries are read account by account, each account's run
    straight from ``ix_ledger_entries_account`` in id order, so the work follows the guild's
    size whatever the ledger's (a join lets the planner hash the whole ledger for a small
    guild). SQLite has no LATERAL, and always joins that way.
    """
    if lateral:
        window: dict[str, Any] = {"order_by": LedgerEntry.id}
        entries = (
            select(
                LedgerEntry.id.label("entry_id"),
                LedgerEntry.balance_before,
                LedgerEntry.balance_after,
                func.lag(LedgerEntry.balance_after).over(**window).label("previous_after"),
                _bigint(func.sum(LedgerEntry.amount).over(**window)).label("running"),
                func.lead(LedgerEntry.id).over(**window).label("next_id"),
            )
            .where(LedgerEntry.account_id == Account.id)
            .lateral("entries")
        )
        rows = (
            select(
                Account.id.label("account_id"),
                Account.user_id,
                Account.balance,
                LedgerCheckpoint.balance.label("checkpoint"),
                entries,
            )
            .outerjoin(LedgerCheckpoint, LedgerCheckpoint.account_id == Account.id)
            .outerjoin(entries, true())
            .where(Account.guild_id == guild_id)
            .subquery()
        )
    else:
        window = {"partition_by": Account.id, "order_by": LedgerEntry.id}
        rows = (
            select(
                Account.id.label("account_id"),
                Account.user_id,
                Account.balance,
                LedgerCheckpoint.balance.label("checkpoint"),
                LedgerEntry.id.label("entry_id"),
                LedgerEntry.balance_before,
                LedgerEntry.balance_after,
                func.lag(LedgerEntry.balance_after).over(**window).label("previous_after"),
                _bigint(func.sum(LedgerEntry.amount).over(**window)).label("running"),
                func.lead(LedgerEntry.id).over(**window).label("next_id"),
            )
            .outerjoin(LedgerCheckpoint, LedgerCheckpoint.account_id == Account.id)
            .outerjoin(LedgerEntry, LedgerEntry.account_id == Account.id)
            .where(Account.guild_id == guild_id)
            .subquery()
        )
    # The entry before (the checkpoint for the first entry after an archive), and the sum of
    # the entries so far on top of the checkpoint.
    previous = func.coalesce(rows.c.previous_after, rows.c.checkpoint)
    running = func.coalesce(rows.c.running, 0) + func.coalesce(rows.c.checkpoint, 0)
    broken = and_(
        rows.c.entry_id.is_not(None), previous.is_not(None), rows.c.balance_before != previous
    )
    last_wrong = and_(
        rows.c.next_id.is_(None),
        or_(running != rows.c.balance, rows.c.balance_after != rows.c.balance),
    )
    return (
        select(
            rows.c.account_id,
            rows.c.user_id,
            rows.c.balance,
            rows.c.entry_id,
            rows.c.balance_before,
            previous,
            _bigint(running),
            rows.c.balance_after,
            broken.label("broken"),
            rows.c.next_id.is_(None).label("last"),
        )
        .where(or_(broken, last_wrong))
        .order_by(rows.c.account_id, rows.c.entry_id)
    )


def _account_row(row: Any) -> list[dict[str, Any]]:
    account_id, user_id, balance, entry_id, before, previous, entries_sum, last_after = row[:8]
    found: list[dict[str, Any]] = []
    if row.broken:
        found.append(
            {
                "code": "broken_chain",
                "entry_id": entry_id,
                "account_id": account_id,
                "detail": (
                    f"entry {entry_id} starts at {before} but the previous entry left {previous}"
                ),
            }
        )
    if not row.last:
        return found
    if entries_sum != balance:
        found.append(
            {
                "code": "balance_mismatch",
                "account_id": account_id,
                "user_id": user_id,
                "balance": balance,
                "entries_sum": entries_sum,
                "detail": f"{user_id}: balance {balance} but entries sum to {entries_sum}",
            }
        )
    if last_after is not None and last_after != balance:
        found.append(
            {
                "code": "last_balance_mismatch",
                "account_id": account_id,
                "user_id": user_id,
                "balance": balance,
                "last_balance_after": last_after,
                "detail": f"{user_id}: balance {balance} but last entry left {last_after}",
            }
        )
    return found


def _unbalanced_transactions(guild_id: str, *, lateral: bool) -> Select[Any]:
    """The guild's transactions whose entries do not sum to zero, or are fewer than two
    (``lateral``: each transaction's entries summed from ``ix_ledger_entries_transaction``,
    as above)."""
    if lateral:
        sums = (
            select(
                _bigint(func.coalesce(func.sum(LedgerEntry.amount), literal(0))).label("total"),
                func.count().label("entries"),
            )
            .where(LedgerEntry.transaction_id == LedgerTransaction.id)
            .lateral("sums")
        )
        return (
            select(LedgerTransaction.id, sums.c.total, sums.c.entries)
            .join(sums, true())
            .where(
                LedgerTransaction.guild_id == guild_id, (sums.c.total != 0) | (sums.c.entries < 2)
            )
            .order_by(LedgerTransaction.id)
        )
    total = func.coalesce(func.sum(LedgerEntry.amount), literal(0))
    return (
        select(LedgerTransaction.id, _bigint(total), func.count(LedgerEntry.id))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.guild_id == guild_id)
        .group_by(LedgerTransaction.id)
        .having((total != 0) | (func.count(LedgerEntry.id) < 2))
        .order_by(LedgerTransaction.id)
    )
