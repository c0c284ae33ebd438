"""The SQL of a posting on each backend (``posting.py`` says when each runs).

PostgreSQL: one call of the ``guildbank_post`` PL/pgSQL function (migration 0001) does the
locking, the balance updates and the inserts in one round trip, through the ORM session or
straight on the driver pool. SQLite: the same steps as separate statements inside the unit
of work's ``BEGIN IMMEDIATE`` transaction, which already serialises writers.

Refusals surface as the driver's integrity errors; ``posting.py`` translates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, DateTime

from guildbank.ledger.legs import Leg, check_balanced
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction

__all__ = ["PostedEntry", "PostedTransaction", "post_in_session", "post_on_pool"]


@dataclass(frozen=True, slots=True)
class PostedEntry:
    account_id: int
    amount: int
    balance_before: int
    balance_after: int
    total_received: int


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    created_at: datetime
    entries: tuple[PostedEntry, ...]

    def entry(self, account_id: int) -> PostedEntry:
        return next(e for e in self.entries if e.account_id == account_id)


_PG_POST_DRIVER = (
    "SELECT o_tx, o_created, o_account, o_amount, o_before, o_after, o_received "
    "FROM guildbank_post($1, $2, $3, $4, $5, $6, $7, $8::bigint[], $9::bigint[], "
    "$10::bigint[], $11::bigint[])"
)


_PG_POST = text(
    "SELECT o_tx, o_created, o_account, o_amount, o_before, o_after, o_received "
    "FROM guildbank_post(:guild_id, :type, :amount, :reason, :actor_id, :reverses_id, :now, "
    ":accounts, :amounts, :received, :sent)"
).bindparams(
    bindparam("accounts", type_=ARRAY(BigInteger())),
    bindparam("amounts", type_=ARRAY(BigInteger())),
    bindparam("received", type_=ARRAY(BigInteger())),
    bindparam("sent", type_=ARRAY(BigInteger())),
    bindparam("now", type_=DateTime(timezone=True)),
)


async def post_in_session(
    session: AsyncSession,
    *,
    guild_id: str,
    type: TransactionType,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None = None,
    actor_id: str | None = None,
    reverses_id: int | None = None,
) -> PostedTransaction:
    """Write one balanced ledger transaction in ``session``'s transaction (either backend)."""
    ordered, magnitude = _prepared(legs)
    if session.get_bind().dialect.name == "postgresql":
        return await _post_postgresql(
            session, guild_id, type, magnitude, ordered, now, reason, actor_id, reverses_id
        )
    return await _post_generic(
        session, guild_id, type, magnitude, ordered, now, reason, actor_id, reverses_id
    )


async def post_on_pool(
    pool: asyncpg.Pool,
    *,
    guild_id: str,
    type: TransactionType,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None = None,
    actor_id: str | None = None,
) -> PostedTransaction:
    """PostgreSQL: the posting as its own autocommitted statement on the driver pool."""
    ordered, magnitude = _prepared(legs)
    rows = await pool.fetch(
        _PG_POST_DRIVER, guild_id, type, magnitude, reason, actor_id, None, now, *_columns(ordered)
    )
    return _posted(rows, ordered, guild_id)


def _prepared(legs: Sequence[Leg]) -> tuple[list[Leg], int]:
    """The legs checked to balance, in lock order (ascending account id), and the amount moved."""
    check_balanced(legs)
    ordered = sorted(legs, key=lambda leg: leg.account_id)
    return ordered, sum(leg.amount for leg in ordered if leg.amount > 0)


def _columns(legs: Sequence[Leg]) -> tuple[list[int], list[int], list[int], list[int]]:
    """The legs as the function's four parallel arrays: accounts, amounts, received, sent."""
    return (
        [leg.account_id for leg in legs],
        [leg.amount for leg in legs],
        [leg.received for leg in legs],
        [leg.sent for leg in legs],
    )


def _posted(rows: Sequence[Any], legs: Sequence[Leg], guild_id: str) -> PostedTransaction:
    if len(rows) != len(legs):
        msg = f"posting touched {len(rows)} of {len(legs)} accounts in guild {guild_id}"
        raise LookupError(msg)
    entries = tuple(PostedEntry(r[2], r[3], r[4], r[5], r[6]) for r in rows)
    return PostedTransaction(id=rows[0][0], created_at=rows[0][1], entries=entries)


async def _post_postgresql(
    session: AsyncSession,
    guild_id: str,
    type_: TransactionType,
    magnitude: int,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None,
    actor_id: str | None,
    reverses_id: int | None,
) -> PostedTransaction:
    rows = (
        await session.execute(
            _PG_POST,
            {
                "guild_id": guild_id,
                "type": type_,
                "amount": magnitude,
                "reason": reason,
                "actor_id": actor_id,
                "reverses_id": reverses_id,
                "now": now,
                **dict(
                    zip(("accounts", "amounts", "received", "sent"), _columns(legs), strict=True)
                ),
            },
        )
    ).all()
    return _posted(rows, legs, guild_id)


async def _post_generic(
    session: AsyncSession,
    guild_id: str,
    type_: TransactionType,
    magnitude: int,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None,
    actor_id: str | None,
    reverses_id: int | None,
) -> PostedTransaction:
    entries: list[PostedEntry] = []
    for leg in legs:
        row = (
            await session.execute(
                update(Account)
                .where(Account.id == leg.account_id, Account.guild_id == guild_id)
                .values(
                    balance=Account.balance + leg.amount,
                    total_received=Account.total_received + leg.received,
                    total_sent=Account.total_sent + leg.sent,
                    updated_at=now,
                )
                .returning(Account.balance, Account.total_received)
            )
        ).one_or_none()
        if row is None:
            msg = f"account {leg.account_id} is not in guild {guild_id}"
            raise LookupError(msg)
        entries.append(PostedEntry(leg.account_id, leg.amount, row[0] - leg.amount, row[0], row[1]))
    transaction_id = (
        await session.execute(
            insert(LedgerTransaction)
            .values(
                guild_id=guild_id,
                type=type_,
                amount=magnitude,
                reason=reason,
                actor_id=actor_id,
                reverses_id=reverses_id,
                created_at=now,
            )
            .returning(LedgerTransaction.id)
        )
    ).scalar_one()
    await session.execute(
        insert(LedgerEntry),
        [
            {
                "transaction_id": transaction_id,
                "account_id": e.account_id,
                "amount": e.amount,
                "balance_before": e.balance_before,
                "balance_after": e.balance_after,
            }
            for e in entries
        ],
    )
    return PostedTransaction(id=transaction_id, created_at=now, entries=tuple(entries))
