"""Members' money verbs: the daily reward and transfers, each in the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from guildbank.features.economy.errors import AlreadyClaimed, CooldownActive
from guildbank.features.economy.events import DailyClaimed, TransferMade
from guildbank.features.economy.rules import roles_crossed, validate_transfer
from guildbank.features.economy.schemas import DailyOut, TransferOut
from guildbank.features.economy.streaks import tier_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import guild_today, seconds_until_next_day
from guildbank.ledger import posting
from guildbank.ledger.accounts import ensure_account, lock_accounts
from guildbank.ledger.daily import RewardTier, claim_daily_reward
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.members import claim_transfer_slot, limit_balance_changes
from guildbank.ledger.transfers import PostedTransfer, transfer_standalone
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_role_grants
from guildbank.platform import idempotency
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.uow import UnitOfWork

__all__ = ["ROLE_REWARD_REASON", "claim_daily", "transfer"]

# Why the bot adds a reward role (Discord's audit log shows it).
ROLE_REWARD_REASON = "guildbank role reward"
# A daily reward's transaction reason: the streak, the tier's name and its multiplier.
DAILY_REASON = "Daily reward (streak %s, %s x%s)"


async def claim_daily(uow: UnitOfWork, *, guild_id: str, user_id: str) -> DailyOut:
    """Pay the daily reward once per guild-local day; the streak grows on consecutive days.

    A newcomer's account opens with the starting balance in the same claim. On PostgreSQL the
    claim is one statement (``ledger/daily.py``), holding the guild's mint only that long.
    """
    config = await get_config(uow, guild_id)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
    )
    today = guild_today(config.timezone, uow.now)
    claim = await claim_daily_reward(
        uow,
        guild_id=guild_id,
        user_id=user_id,
        today=today,
        starting_balance=config.starting_balance,
        daily_amount=config.daily_amount,
        tiers=_reward_tiers(config.streak_bonuses),
        reason=DAILY_REASON,
        role_thresholds=config.role_rewards.values(),
    )
    if claim is None:
        raise AlreadyClaimed(retry_after_seconds=seconds_until_next_day(config.timezone, uow.now))
    tier = tier_for(claim.streak, config.streak_bonuses)
    roles = roles_crossed(config.role_rewards, claim.received_before, claim.total_received)
    # Only a claim in the unit's transaction crosses a threshold (ledger/daily.py).
    await enqueue_role_grants(
        uow, guild_id=guild_id, user_id=user_id, role_ids=roles, reason=ROLE_REWARD_REASON
    )
    uow.emit(
        DailyClaimed(
            guild_id=guild_id,
            user_id=user_id,
            amount=claim.award,
            streak=claim.streak,
            balance=claim.balance,
            roles_earned=roles,
        )
    )
    return DailyOut(
        guild_id=guild_id,
        user_id=user_id,
        balance=claim.balance,
        total_received=claim.total_received,
        total_sent=claim.total_sent,
        streak_count=claim.streak,
        last_daily=today,
        awarded=claim.award,
        multiplier=tier.multiplier,
        tier=tier.name,
        transaction_id=claim.transaction_id,
        roles_earned=roles,
    )


def _reward_tiers(bonuses: Mapping[int, int]) -> list[RewardTier]:
    """The streak table as the ledger applies it: each threshold with its tier (and 0, below
    every threshold), so the highest one reached is ``tier_for``'s answer."""
    tiers = (tier_for(threshold, bonuses) for threshold in sorted({0, *bonuses}))
    return [RewardTier(tier.threshold, tier.name, tier.multiplier) for tier in tiers]


async def transfer(
    uow: UnitOfWork,
    *,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None = None,
    keyed: IdempotentRequest | None = None,
) -> TransferOut:
    """Move bytes between two members atomically; never overdraws, never double-spends.

    With ``keyed`` (an ``Idempotency-Key``) the key is recorded with the transfer, and a
    repeat raises Replayed with the first response instead of moving money again.
    """
    config = await get_config(uow, guild_id)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=giver_id, per_minute=config.rate_limit_per_minute
    )
    validate_transfer(
        config, giver_id=giver_id, receiver_id=receiver_id, amount=amount, reason=reason
    )
    if config.transfer_cooldown_hours == 0 and not uow.began:
        # Known members, no cooldown: the whole transfer is one statement (PostgreSQL) that
        # also stores its event, its role jobs and the key's record (ledger/transfers.py).
        done = await transfer_standalone(
            uow,
            guild_id=guild_id,
            giver_id=giver_id,
            receiver_id=receiver_id,
            amount=amount,
            reason=reason,
            currency=config.currency_name,
            role_rewards=config.role_rewards,
            role_reason=ROLE_REWARD_REASON,
            keyed=keyed,
        )
        if done is not None:
            return _transferred(uow, guild_id, giver_id, receiver_id, amount, reason, done)
    # The transactional path: new members (opened with their starting balance), a cooldown,
    # SQLite. The key is looked up first and recorded last, in the same transaction.
    if keyed is not None:
        await idempotency.replay_if_recorded(uow, keyed)
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
    posted = await posting.post(
        uow,
        guild_id=guild_id,
        type=TransactionType.TRANSFER,
        legs=transfer_legs(source=giver, target=receiver, amount=amount),
        reason=reason,
        actor_id=giver_id,
        payer=posting.Payer(giver, config.currency_name, config.starting_balance, verb="send"),
    )
    receiver_entry = posted.entry(receiver)
    roles = roles_crossed(
        config.role_rewards, receiver_entry.total_received - amount, receiver_entry.total_received
    )
    done = PostedTransfer(
        transaction_id=posted.id,
        created_at=posted.created_at,
        giver_balance=posted.entry(giver).balance_after,
        receiver_balance=receiver_entry.balance_after,
        roles_earned=roles,
    )
    result = _transferred(uow, guild_id, giver_id, receiver_id, amount, reason, done)
    await enqueue_role_grants(
        uow, guild_id=guild_id, user_id=receiver_id, role_ids=roles, reason=ROLE_REWARD_REASON
    )
    if keyed is not None:
        await idempotency.record(uow, keyed, status_code=200, body=result.model_dump(mode="json"))
    return result


def _transferred(
    uow: UnitOfWork,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None,
    done: PostedTransfer,
) -> TransferOut:
    """The transfer's answer, and its event (already stored by a one-statement transfer:
    emitting it then only wakes the relay)."""
    uow.emit(
        TransferMade(
            guild_id=guild_id,
            transaction_id=done.transaction_id,
            giver_id=giver_id,
            receiver_id=receiver_id,
            amount=amount,
            reason=reason,
            giver_balance=done.giver_balance,
            receiver_balance=done.receiver_balance,
            roles_earned=done.roles_earned,
        )
    )
    return TransferOut(
        id=done.transaction_id,
        guild_id=guild_id,
        type=TransactionType.TRANSFER,
        amount=amount,
        reason=reason,
        giver_id=giver_id,
        receiver_id=receiver_id,
        giver_balance=done.giver_balance,
        receiver_balance=done.receiver_balance,
        created_at=done.created_at,
        roles_earned=done.roles_earned,
    )
