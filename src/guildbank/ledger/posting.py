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
inserts. When the posting is all a unit of work writes, ``post_standalone`` runs it on a
plain asyncpg pool (``UnitOfWork.standalone_pool``) as its own autocommitted statement: one
round trip in all, no ORM, no BEGIN or COMMIT; its caller must store the unit's events in
that statement too, or they are written after it. The transfer between members, the
busiest write, has its own statement that does (``ledger/transfers.py``: the Idempotency-Key,
the event and the role jobs included). Elsewhere (SQLite) the same steps run as separate
statements inside the unit of work's ``BEGIN IMMEDIATE`` transaction, which already
serialises writers (``statements.py``).

Refusals come from the schema and are translated here, once, by the violated constraint's
name: the payer's overdraft becomes ``InsufficientBalance``, a second reversal of one
transaction ``AlreadyReversed``, a balance or running total beyond ``±MAX_AMOUNT``
``BalanceLimit`` (an amount beyond it is ``AmountOutOfRange``, refused before any SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import GuildbankError
from guildbank.core.limits import within_bounds
from guildbank.ledger.constraints import (
    AMOUNT_BOUNDS,
    BALANCE_BOUNDS,
    ONE_REVERSAL,
    OVERDRAFT,
    violated_constraint,
)
from guildbank.ledger.errors import (
    AlreadyReversed,
    AmountOutOfRange,
    BalanceLimit,
    InsufficientBalance,
)
from guildbank.ledger.legs import Leg
from guildbank.ledger.statements import (
    PostedEntry,
    PostedTransaction,
    post_in_session,
    post_on_pool,
)
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "Payer",
    "PostedEntry",
    "PostedTransaction",
    "post",
    "post_in_session",
    "post_standalone",
]


@dataclass(frozen=True, slots=True)
class Payer:
    """The member account a posting draws on, and how a refusal tells them they can't pay.

    ``starting_balance`` is what they hold when the refused unit of work also opened their
    account: the rollback takes the new account with it.
    """

    account_id: int
    currency: str
    starting_balance: int
    verb: str = "use"


async def post(
    uow: UnitOfWork,
    *,
    guild_id: str,
    type: TransactionType,
    legs: Sequence[Leg],
    reason: str | None = None,
    actor_id: str | None = None,
    reverses_id: int | None = None,
    payer: Payer | None = None,
) -> PostedTransaction:
    """Write one balanced ledger transaction in the unit of work's transaction.

    Refused, with the unit rolled back (and still usable): InsufficientBalance when it would
    overdraw ``payer``, AlreadyReversed when ``reverses_id`` was reversed meanwhile.
    """
    try:
        return await post_in_session(
            uow.session,
            guild_id=guild_id,
            type=type,
            legs=legs,
            now=uow.now,
            reason=reason,
            actor_id=actor_id,
            reverses_id=reverses_id,
        )
    except (IntegrityError, AmountOutOfRange) as error:
        refusal = await _refusal(uow, error, legs, payer, reverses_id)
        if refusal is None:
            raise
        raise refusal from None


async def post_standalone(
    uow: UnitOfWork,
    *,
    guild_id: str,
    type: TransactionType,
    legs: Sequence[Leg],
    reason: str | None = None,
    actor_id: str | None = None,
    payer: Payer | None = None,
) -> PostedTransaction:
    """The posting as the unit of work's only write.

    PostgreSQL: autocommitted on the driver pool, one round trip. SQLite: in the unit's
    transaction, committed with it. Either way it is refused (StandaloneWriteError) once the
    unit began its own transaction, and afterwards the unit refuses any other write; refusals
    are those of ``post``.
    """
    pool = await uow.standalone_pool()
    if pool is None:
        posted = await post(
            uow,
            guild_id=guild_id,
            type=type,
            legs=legs,
            reason=reason,
            actor_id=actor_id,
            payer=payer,
        )
    else:
        try:
            posted = await post_on_pool(
                pool,
                guild_id=guild_id,
                type=type,
                legs=legs,
                now=uow.now,
                reason=reason,
                actor_id=actor_id,
            )
        except asyncpg.IntegrityConstraintViolationError as error:
            refusal = await _refusal(uow, error, legs, payer, None)
            if refusal is None:
                raise
            raise refusal from None
    uow.wrote_standalone()
    return posted


async def _refusal(
    uow: UnitOfWork,
    error: Exception,
    legs: Sequence[Leg],
    payer: Payer | None,
    reverses_id: int | None,
) -> GuildbankError | None:
    """The refusal a constraint violation means, after rolling the unit back; None when it is
    not one the ledger expects (the caller re-raises the database error)."""
    if isinstance(error, AmountOutOfRange):
        await uow.rollback()
        return error
    constraint = violated_constraint(error)
    if constraint in BALANCE_BOUNDS:
        await uow.rollback()
        return await _beyond_bounds(uow, legs)
    if constraint in AMOUNT_BOUNDS:
        await uow.rollback()
        return AmountOutOfRange()
    if constraint == OVERDRAFT and payer is not None:
        await uow.rollback()
        return await _insufficient(uow, payer, legs)
    if constraint == ONE_REVERSAL and reverses_id is not None:
        await uow.rollback()
        return AlreadyReversed(reverses_id)
    return None


async def _insufficient(uow: UnitOfWork, payer: Payer, legs: Sequence[Leg]) -> InsufficientBalance:
    """Describe the shortfall with the payer's committed balance."""
    balance = (
        await uow.session.execute(select(Account.balance).where(Account.id == payer.account_id))
    ).scalar_one_or_none()
    needed = -sum(leg.amount for leg in legs if leg.account_id == payer.account_id)
    return InsufficientBalance(
        available=payer.starting_balance if balance is None else balance,
        needed=needed,
        currency=payer.currency,
        verb=payer.verb,
    )


async def _beyond_bounds(uow: UnitOfWork, legs: Sequence[Leg]) -> BalanceLimit:
    """Name the account the posting would have taken beyond the bound (committed values)."""
    rows = (
        await uow.session.execute(
            select(
                Account.id,
                Account.user_id,
                Account.balance,
                Account.total_received,
                Account.total_sent,
            ).where(Account.id.in_([leg.account_id for leg in legs]))
        )
    ).all()
    by_id = {row[0]: row for row in rows}
    for leg in legs:
        row = by_id.get(leg.account_id)
        if row is not None and not all(
            within_bounds(value)
            for value in (row[2] + leg.amount, row[3] + leg.received, row[4] + leg.sent)
        ):
            return BalanceLimit(row[1])
    return BalanceLimit()
