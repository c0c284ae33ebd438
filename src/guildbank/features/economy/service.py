"""Members' money verbs: the daily reward and transfers, each in the caller's unit of work."""

from __future__ import annotations

from datetime import timedelta

from guildbank.features.economy.errors import AlreadyClaimed, CooldownActive
from guildbank.features.economy.events import DailyClaimed, TransferMade
from guildbank.features.economy.rules import roles_crossed, validate_transfer
from guildbank.features.economy.schemas import DailyOut, TransferOut
from guildbank.features.economy.streaks import tier_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import guild_today, seconds_until_next_day
from guildbank.ledger import posting
from guildbank.ledger.accounts import ensure_account, lock_accounts, lock_mint
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.members import claim_transfer_slot, limit_balance_changes, mark_daily_claim
from guildbank.ledger.types import TransactionType
from guildbank.platform.uow import UnitOfWork

__all__ = ["claim_daily", "transfer"]


async def claim_daily(uow: UnitOfWork, *, guild_id: str, user_id: str) -> DailyOut:
    """Pay the daily reward once per guild-local day; the streak grows on consecutive days."""
    config = await get_config(uow, guild_id)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
    )
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
    mint = await lock_mint(uow, guild_id)  # before the member row: see lock_mint
    today = guild_today(config.timezone, uow.now)
    marked = await mark_daily_claim(uow, account, today=today)
    if marked is None:
        raise AlreadyClaimed(retry_after_seconds=seconds_until_next_day(config.timezone, uow.now))
    balance, received = marked.balance, marked.total_received
    tier = tier_for(marked.streak, config.streak_bonuses)
    award = config.daily_amount * tier.multiplier
    transaction_id = None
    roles: list[str] = []
    if award > 0:
        posted = await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.DAILY,
            legs=transfer_legs(source=mint, target=account, amount=award),
            reason=f"Daily reward (streak {marked.streak}, {tier.name} x{tier.multiplier})",
            actor_id=user_id,
        )
        entry = posted.entry(account)
        balance, transaction_id = entry.balance_after, posted.id
        roles = roles_crossed(config.role_rewards, received, entry.total_received)
        received = entry.total_received
    uow.emit(
        DailyClaimed(
            guild_id=guild_id,
            user_id=user_id,
            amount=award,
            streak=marked.streak,
            balance=balance,
            roles_earned=roles,
        )
    )
    return DailyOut(
        guild_id=guild_id,
        user_id=user_id,
        balance=balance,
        total_received=received,
        total_sent=marked.total_sent,
        streak_count=marked.streak,
        last_daily=today,
        awarded=award,
        multiplier=tier.multiplier,
        tier=tier.name,
        transaction_id=transaction_id,
        roles_earned=roles,
    )


async def transfer(
    uow: UnitOfWork,
    *,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None = None,
) -> TransferOut:
    """Move bytes between two members atomically; never overdraws, never double-spends."""
    config = await get_config(uow, guild_id)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=giver_id, per_minute=config.rate_limit_per_minute
    )
    validate_transfer(
        config, giver_id=giver_id, receiver_id=receiver_id, amount=amount, reason=reason
    )
    giver = await ensure_account(uow, guild_id, giver_id, starting_balance=config.starting_balance)
    receiver = await ensure_account(
        uow, guild_id, receiver_id, starting_balance=config.starting_balance
    )
    if config.transfer_cooldown_hours > 0:
        # Lock both rows in the posting's (ascending id) order before the slot claim locks
        # the giver alone: otherwise A->B and B->A at once deadlock on PostgreSQL.
        await lock_accounts(uow, giver, receiver)
        wait = await claim_transfer_slot(
            uow, giver, cooldown=timedelta(hours=config.transfer_cooldown_hours)
        )
        if wait is not None:
            raise CooldownActive(retry_after_seconds=wait)
    payer = posting.Payer(giver, config.currency_name, config.starting_balance, verb="send")
    legs = transfer_legs(source=giver, target=receiver, amount=amount)
    # When nothing touched the database yet (known members, no cooldown, no idempotency
    # record), the posting is this unit's only write: it commits by itself, in one round trip.
    post = posting.post if uow.began else posting.post_standalone
    posted = await post(
        uow,
        guild_id=guild_id,
        type=TransactionType.TRANSFER,
        legs=legs,
        reason=reason,
        actor_id=giver_id,
        payer=payer,
    )
    receiver_entry = posted.entry(receiver)
    roles = roles_crossed(
        config.role_rewards, receiver_entry.total_received - amount, receiver_entry.total_received
    )
    result = TransferOut(
        id=posted.id,
        guild_id=guild_id,
        type=TransactionType.TRANSFER,
        amount=amount,
        reason=reason,
        giver_id=giver_id,
        receiver_id=receiver_id,
        giver_balance=posted.entry(giver).balance_after,
        receiver_balance=receiver_entry.balance_after,
        created_at=posted.created_at,
        roles_earned=roles,
    )
    uow.emit(
        TransferMade(
            guild_id=guild_id,
            transaction_id=posted.id,
            giver_id=giver_id,
            receiver_id=receiver_id,
            amount=amount,
            reason=reason,
            giver_balance=result.giver_balance,
            receiver_balance=result.receiver_balance,
            roles_earned=roles,
        )
    )
    return result
