"""Admin money tools: adjust a balance and reverse a transaction, always recorded in the ledger."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import InvalidInput
from guildbank.features.economy.schemas import AdjustOut, ReversalOut
from guildbank.features.economy.service import _check_reason, _refuse_overdraft
from guildbank.features.guilds.queries import get_config
from guildbank.ledger import posting as ledger
from guildbank.ledger.accounts import ensure_account, lock_mint
from guildbank.ledger.errors import AlreadyReversed, TransactionNotFound
from guildbank.ledger.legs import Leg, reversal_legs
from guildbank.ledger.limits import MAX_AMOUNT
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import UnitOfWork

__all__ = ["AdjustResult", "ReversalResult", "adjust_balance", "reverse_transaction"]

AdjustAction = Literal["add", "remove", "set"]
AdjustResult = AdjustOut
ReversalResult = ReversalOut


async def adjust_balance(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    action: AdjustAction,
    amount: int,
    reason: str,
    actor_id: str | None,
) -> AdjustResult:
    """Admin add / remove / set of a member's balance, against the mint, with a reason."""
    reason = _check_reason(reason)
    minimum = 0 if action == "set" else 1
    if not minimum <= amount <= MAX_AMOUNT:
        raise InvalidInput(
            f"The amount must be between {minimum} and {MAX_AMOUNT}.", code="invalid_amount"
        )
    config = await get_config(uow, guild_id)
    account = await ensure_account(uow, guild_id, user_id, config)
    mint = await lock_mint(uow, guild_id)  # before the member row: see lock_mint
    if action == "set":
        current = (
            await uow.session.execute(
                select(Account.balance).where(Account.id == account).with_for_update()
            )
        ).scalar_one()
        delta = amount - current
    else:
        delta = amount if action == "add" else -amount
    if delta == 0:
        return AdjustResult(
            guild_id=guild_id,
            user_id=user_id,
            action=action,
            delta=0,
            balance=amount,
            transaction_id=None,
        )
    try:
        posted = await ledger.post(
            uow.session,
            guild_id=guild_id,
            type="admin_adjust",
            legs=[Leg(mint, -delta), Leg(account, delta)],
            now=uow.now,
            reason=reason,
            actor_id=actor_id,
        )
    except ledger.Overdraft:
        raise await _refuse_overdraft(uow, account, -delta, config, "remove") from None
    balance = posted.entry(account).balance_after
    uow.emit(
        "balance.adjusted",
        guild_id,
        user_id=user_id,
        delta=delta,
        balance=balance,
        reason=reason,
        actor_id=actor_id,
        transaction_id=posted.id,
    )
    return AdjustResult(
        guild_id=guild_id,
        user_id=user_id,
        action=action,
        delta=delta,
        balance=balance,
        transaction_id=posted.id,
    )


async def reverse_transaction(
    uow: UnitOfWork, *, guild_id: str, transaction_id: int, reason: str, actor_id: str | None
) -> ReversalResult:
    """Undo a transaction with an opposite one; history is never edited."""
    reason = _check_reason(reason)
    config = await get_config(uow, guild_id)
    original = (
        await uow.session.execute(
            select(LedgerTransaction).where(
                LedgerTransaction.id == transaction_id, LedgerTransaction.guild_id == guild_id
            )
        )
    ).scalar_one_or_none()
    if original is None:
        raise TransactionNotFound(transaction_id)
    if original.type == "reversal":
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
    legs = reversal_legs(original.type, entries)
    try:
        posted = await ledger.post(
            uow.session,
            guild_id=guild_id,
            type="reversal",
            legs=legs,
            now=uow.now,
            reason=reason,
            actor_id=actor_id,
            reverses_id=transaction_id,
        )
    except ledger.Overdraft:
        debtor = next(leg for leg in legs if leg.amount < 0)
        raise await _refuse_overdraft(uow, debtor.account_id, -debtor.amount, config) from None
    except IntegrityError as error:
        if "reverses_id" not in str(error.orig):
            raise
        await uow.rollback()
        raise AlreadyReversed(transaction_id) from None
    uow.emit(
        "transaction.reversed",
        guild_id,
        transaction_id=transaction_id,
        reversal_id=posted.id,
        actor_id=actor_id,
    )
    return ReversalResult(
        id=posted.id,
        reverses_id=transaction_id,
        guild_id=guild_id,
        amount=original.amount,
        created_at=posted.created_at,
    )
