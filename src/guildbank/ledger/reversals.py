"""Reading a transaction to reverse it: history is never edited, a correction is the opposite
transaction (posted with ``reverses_id``, which the schema lets happen once)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from guildbank.core.errors import InvalidInput
from guildbank.ledger.errors import AlreadyReversed, TransactionNotFound
from guildbank.ledger.legs import Leg, reversal_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = ["Reversible", "reversible"]


@dataclass(frozen=True, slots=True)
class Reversible:
    """A transaction that may be reversed, and the legs that undo it."""

    id: int
    amount: int
    legs: list[Leg]

    @property
    def debtor(self) -> int:
        """The account the reversal takes money back from (the one that may lack it)."""
        return next(leg.account_id for leg in self.legs if leg.amount < 0)


async def reversible(uow: UnitOfWork, *, guild_id: str, transaction_id: int) -> Reversible:
    """The guild's transaction with the legs undoing it, totals included.

    Refuses an unknown transaction, a reversal, and a transaction already reversed.
    """
    original = (
        await uow.session.execute(
            select(LedgerTransaction.type, LedgerTransaction.amount).where(
                LedgerTransaction.id == transaction_id, LedgerTransaction.guild_id == guild_id
            )
        )
    ).one_or_none()
    if original is None:
        raise TransactionNotFound(transaction_id)
    kind = TransactionType(original.type)
    if kind is TransactionType.REVERSAL:
        raise InvalidInput("A reversal cannot itself be reversed.", code="cannot_reverse_reversal")
    already = (
        await uow.session.execute(
            select(LedgerTransaction.id).where(LedgerTransaction.reverses_id == transaction_id)
        )
    ).scalar_one_or_none()
    if already is not None:
        raise AlreadyReversed(transaction_id)
    entries = (
        await uow.session.execute(
            select(LedgerEntry.account_id, LedgerEntry.amount).where(
                LedgerEntry.transaction_id == transaction_id
            )
        )
    ).all()
    return Reversible(
        transaction_id, original.amount, reversal_legs(kind, [(a, m) for a, m in entries])
    )
