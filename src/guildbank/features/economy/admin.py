"""Admin money tools: adjust a balance and reverse a transaction, always recorded in the ledger.

With a log channel set, each also posts a line there, through the outbox (written in the same
transaction, so the log never shows an action that did not happen, nor misses one).
"""

from __future__ import annotations

from guildbank.features.economy.events import BalanceAdjusted, TransactionReversed
from guildbank.features.economy.rules import AdjustAction, check_adjustment, required_reason
from guildbank.features.economy.schemas import AdjustOut, ReversalOut
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.guilds.service import acted_by
from guildbank.ledger import posting
from guildbank.ledger.accounts import ensure_account, lock_mint, read_balance
from guildbank.ledger.legs import Leg
from guildbank.ledger.reversals import reversible
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_message
from guildbank.platform.uow import UnitOfWork

__all__ = ["adjust_balance", "reverse_transaction"]


async def adjust_balance(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    action: AdjustAction,
    amount: int,
    reason: str,
    actor_id: str | None,
) -> AdjustOut:
    """Admin add / remove / set of a member's balance, against the mint, with a reason."""
    reason = required_reason(reason)
    check_adjustment(action, amount)
    config = await get_config(uow, guild_id)
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
    mint = await lock_mint(uow, guild_id)  # before the member row: see lock_mint
    if action == "set":
        delta = amount - await read_balance(uow, account, lock=True)
    else:
        delta = amount if action == "add" else -amount
    if delta == 0:
        return AdjustOut(
            guild_id=guild_id,
            user_id=user_id,
            action=action,
            delta=0,
            balance=amount,
            transaction_id=None,
        )
    posted = await posting.post(
        uow,
        guild_id=guild_id,
        type=TransactionType.ADMIN_ADJUST,
        legs=[Leg(mint, -delta), Leg(account, delta)],
        reason=reason,
        actor_id=actor_id,
        payer=posting.Payer(account, config.currency_name, config.starting_balance, verb="remove"),
    )
    balance = posted.entry(account).balance_after
    await _log_line(
        uow,
        config,
        guild_id,
        f"🛠️ Balance of <@{user_id}> adjusted by {delta:+,} {config.currency_name} "
        f"(now {balance:,}){_by(actor_id)}: {reason}",
    )
    uow.emit(
        BalanceAdjusted(
            guild_id=guild_id,
            user_id=user_id,
            delta=delta,
            balance=balance,
            reason=reason,
            actor_id=actor_id,
            transaction_id=posted.id,
        )
    )
    return AdjustOut(
        guild_id=guild_id,
        user_id=user_id,
        action=action,
        delta=delta,
        balance=balance,
        transaction_id=posted.id,
    )


async def reverse_transaction(
    uow: UnitOfWork, *, guild_id: str, transaction_id: int, reason: str, actor_id: str | None
) -> ReversalOut:
    """Undo a transaction with an opposite one; history is never edited."""
    reason = required_reason(reason)
    config = await get_config(uow, guild_id)
    original = await reversible(uow, guild_id=guild_id, transaction_id=transaction_id)
    posted = await posting.post(
        uow,
        guild_id=guild_id,
        type=TransactionType.REVERSAL,
        legs=original.legs,
        reason=reason,
        actor_id=actor_id,
        reverses_id=transaction_id,
        payer=posting.Payer(original.debtor, config.currency_name, config.starting_balance),
    )
    await _log_line(
        uow,
        config,
        guild_id,
        f"↩️ Transaction #{transaction_id} reversed by #{posted.id}{_by(actor_id)}: {reason}",
    )
    uow.emit(
        TransactionReversed(
            guild_id=guild_id,
            transaction_id=transaction_id,
            reversal_id=posted.id,
            actor_id=actor_id,
        )
    )
    return ReversalOut(
        id=posted.id,
        reverses_id=transaction_id,
        guild_id=guild_id,
        amount=original.amount,
        created_at=posted.created_at,
    )


def _by(actor_id: str | None) -> str:
    return f" by {acted_by(actor_id)}" if actor_id else ""


async def _log_line(uow: UnitOfWork, config: EconomyConfig, guild_id: str, text: str) -> None:
    """A line in the guild's log channel, if it has one (mentions there never ping)."""
    if config.log_channel_id:
        await enqueue_message(
            uow, guild_id=guild_id, channel_id=config.log_channel_id, content=text
        )
