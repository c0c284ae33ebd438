"""Posting ledger transactions: the one place where balances change.

Design overview
---------------
Every movement of money is a ``ledger_transactions`` row with two or more
``ledger_entries`` that sum to zero. Each entry records the account's balance before and
after, and the account's cached ``balance`` is updated in the same database transaction.
Accounts are locked in ascending id order, so two transfers between the same members in
opposite directions can never deadlock; a member account that would go negative violates
``ck_accounts_balance_non_negative`` and the whole posting is refused. Services that lock rows
before posting (a daily claim, opening an account, an admin "set") lock the guild's mint first:
system accounts are created with the guild, so their ids are below every member's and the
order stays ascending.

On PostgreSQL the posting is a single call of the ``guildbank_post`` PL/pgSQL function
(created by migration 0001): one round trip does the locking, the balance updates and the
inserts. When the posting is all a unit of work writes (a transfer between known members
without an idempotency key), ``post_standalone`` runs it on a plain asyncpg pool
(``Services.standalone_pool``) as its own autocommitted statement: one round trip in
all, no ORM, no BEGIN or COMMIT, which is what the transfer benchmark measures. Elsewhere
(SQLite) the same steps run as separate statements inside the unit of work's
``BEGIN IMMEDIATE`` transaction, which already serialises writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, DateTime

from guildbank.ledger.legs import Leg, check_balanced
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction

__all__ = ["Overdraft", "PostedEntry", "PostedTransaction", "post", "post_standalone"]

OVERDRAFT_CONSTRAINT = "ck_accounts_balance_non_negative"


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


class Overdraft(Exception):
    """The posting was refused: a member balance would have gone negative (nothing changed)."""


def _is_overdraft(error: BaseException) -> bool:
    return OVERDRAFT_CONSTRAINT in str(getattr(error, "orig", error))


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


async def post(
    session: AsyncSession,
    *,
    guild_id: str,
    type: str,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None = None,
    actor_id: str | None = None,
    reverses_id: int | None = None,
) -> PostedTransaction:
    """Write one balanced ledger transaction; raises Overdraft when a member can't afford it."""
    check_balanced(legs)
    ordered = sorted(legs, key=lambda leg: leg.account_id)
    magnitude = sum(leg.amount for leg in ordered if leg.amount > 0)
    try:
        if session.get_bind().dialect.name == "postgresql":
            return await _post_postgresql(
                session, guild_id, type, magnitude, ordered, now, reason, actor_id, reverses_id
            )
        return await _post_generic(
            session, guild_id, type, magnitude, ordered, now, reason, actor_id, reverses_id
        )
    except IntegrityError as error:
        if _is_overdraft(error):
            raise Overdraft(str(error)) from error
        raise


async def post_standalone(
    pool: asyncpg.Pool,
    *,
    guild_id: str,
    type: str,
    legs: Sequence[Leg],
    now: datetime,
    reason: str | None = None,
    actor_id: str | None = None,
) -> PostedTransaction:
    """PostgreSQL: the posting as its own autocommitted statement on the driver pool.

    Only for a unit of work that has written nothing else and will write nothing else:
    the posting commits by itself, in one round trip.
    """
    check_balanced(legs)
    ordered = sorted(legs, key=lambda leg: leg.account_id)
    magnitude = sum(leg.amount for leg in ordered if leg.amount > 0)
    try:
        rows = await pool.fetch(
            _PG_POST_DRIVER,
            guild_id,
            type,
            magnitude,
            reason,
            actor_id,
            None,
            now,
            *_columns(ordered),
        )
    except asyncpg.CheckViolationError as error:
        if _is_overdraft(error):
            raise Overdraft(str(error)) from error
        raise
    return _posted(rows, ordered, guild_id)


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
    type_: str,
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
    type_: str,
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
