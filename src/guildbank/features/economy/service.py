"""Members' money verbs: the daily reward and transfers, each in the caller's unit of work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, or_, select, update

from guildbank.core.errors import InvalidInput
from guildbank.features.economy.errors import AlreadyClaimed, CooldownActive
from guildbank.features.economy.rules import roles_crossed, validate_transfer
from guildbank.features.economy.schemas import DailyOut, TransferOut
from guildbank.features.economy.streaks import tier_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig, guild_today, seconds_until_next_day
from guildbank.ledger import posting as ledger
from guildbank.ledger.accounts import ensure_account, lock_mint
from guildbank.ledger.errors import InsufficientBalance
from guildbank.ledger.legs import Leg, transfer_legs
from guildbank.ledger.limits import MAX_REASON_LENGTH
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = ["DailyResult", "TransferResult", "claim_daily", "transfer"]


# The results are the API's own response models (guildbank.schemas, the shared contract):
# one definition of each shape, for the services, the API and the typed client.
DailyResult = DailyOut
TransferResult = TransferOut


async def _refuse_overdraft(
    uow: UnitOfWork, account: int, needed: int, config: EconomyConfig, verb: str = "use"
) -> InsufficientBalance:
    """Roll back the refused posting and describe the shortfall with the committed balance."""
    await uow.rollback()
    balance = (
        await uow.session.execute(select(Account.balance).where(Account.id == account))
    ).scalar_one_or_none()
    available = config.starting_balance if balance is None else balance
    return InsufficientBalance(
        available=available, needed=needed, currency=config.currency_name, verb=verb
    )


async def claim_daily(uow: UnitOfWork, *, guild_id: str, user_id: str) -> DailyResult:
    """Pay the daily reward once per guild-local day; the streak grows on consecutive days."""
    config = await get_config(uow, guild_id)
    account = await ensure_account(uow, guild_id, user_id, config)
    mint = await lock_mint(uow, guild_id)  # before the member row: see lock_mint
    today = guild_today(config.timezone, uow.now)
    claimed = (
        await uow.session.execute(
            update(Account)
            .where(
                Account.id == account,
                or_(Account.last_daily.is_(None), Account.last_daily < today),
            )
            .values(
                streak_count=case(
                    (Account.last_daily == today - timedelta(days=1), Account.streak_count + 1),
                    else_=1,
                ),
                last_daily=today,
                updated_at=uow.now,
            )
            .returning(
                Account.streak_count, Account.balance, Account.total_received, Account.total_sent
            )
        )
    ).one_or_none()
    if claimed is None:
        raise AlreadyClaimed(retry_after_seconds=seconds_until_next_day(config.timezone, uow.now))
    streak, balance, received, sent = claimed
    tier = tier_for(streak, config.streak_bonuses)
    award = config.daily_amount * tier.multiplier
    transaction_id = None
    roles: list[str] = []
    if award > 0:
        posted = await ledger.post(
            uow.session,
            guild_id=guild_id,
            type="daily",
            legs=transfer_legs(source=mint, target=account, amount=award),
            now=uow.now,
            reason=f"Daily reward (streak {streak}, {tier.name} x{tier.multiplier})",
            actor_id=user_id,
        )
        entry = posted.entry(account)
        balance, transaction_id = entry.balance_after, posted.id
        roles = roles_crossed(config.role_rewards, received, entry.total_received)
        received = entry.total_received
    uow.emit(
        "daily.claimed",
        guild_id,
        user_id=user_id,
        amount=award,
        streak=streak,
        balance=balance,
        roles_earned=roles,
    )
    return DailyResult(
        guild_id=guild_id,
        user_id=user_id,
        balance=balance,
        total_received=received,
        total_sent=sent,
        streak_count=streak,
        last_daily=today,
        awarded=award,
        multiplier=tier.multiplier,
        tier=tier.name,
        transaction_id=transaction_id,
        roles_earned=roles,
    )


async def _lock_accounts(uow: UnitOfWork, *accounts: int) -> None:
    """Row-lock accounts in ascending id order, the order every posting locks them in.

    (SQLite ignores FOR UPDATE; its ``BEGIN IMMEDIATE`` already serialises writers.)
    """
    await uow.session.execute(
        select(Account.id).where(Account.id.in_(accounts)).order_by(Account.id).with_for_update()
    )


async def _post_as_only_write(
    uow: UnitOfWork,
    *,
    guild_id: str,
    type_: str,
    legs: list[Leg],
    reason: str | None,
    actor_id: str,
) -> ledger.PostedTransaction:
    """Post what will be the unit of work's only write: on its own, in one round trip, when
    nothing has touched the database yet (PostgreSQL); inside the unit's transaction else."""
    pool = None if uow.began else await uow.services.standalone_pool()
    if pool is not None:
        return await ledger.post_standalone(
            pool,
            guild_id=guild_id,
            type=type_,
            legs=legs,
            now=uow.now,
            reason=reason,
            actor_id=actor_id,
        )
    return await ledger.post(
        uow.session,
        guild_id=guild_id,
        type=type_,
        legs=legs,
        now=uow.now,
        reason=reason,
        actor_id=actor_id,
    )


async def _claim_transfer_slot(uow: UnitOfWork, account: int, config: EconomyConfig) -> None:
    """Enforce the per-sender cooldown with one conditional update (no check-then-act race)."""
    cooldown = timedelta(hours=config.transfer_cooldown_hours)
    claimed = (
        await uow.session.execute(
            update(Account)
            .where(
                Account.id == account,
                or_(
                    Account.last_transfer_at.is_(None),
                    Account.last_transfer_at <= uow.now - cooldown,
                ),
            )
            .values(last_transfer_at=uow.now)
            .returning(Account.id)
        )
    ).one_or_none()
    if claimed is None:
        last = (
            await uow.session.execute(select(Account.last_transfer_at).where(Account.id == account))
        ).scalar_one()
        assert last is not None
        if last.tzinfo is None:
            last = last.replace(tzinfo=uow.now.tzinfo)
        remaining = int((last + cooldown - uow.now).total_seconds())
        raise CooldownActive(retry_after_seconds=max(1, remaining))


async def transfer(
    uow: UnitOfWork,
    *,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None = None,
) -> TransferResult:
    """Move bytes between two members atomically; never overdraws, never double-spends."""
    config = await get_config(uow, guild_id)
    validate_transfer(
        config, giver_id=giver_id, receiver_id=receiver_id, amount=amount, reason=reason
    )
    giver = await ensure_account(uow, guild_id, giver_id, config)
    receiver = await ensure_account(uow, guild_id, receiver_id, config)
    if config.transfer_cooldown_hours > 0:
        # Lock both rows in the posting's (ascending id) order before the slot claim locks
        # the giver alone: otherwise A->B and B->A at once deadlock on PostgreSQL.
        await _lock_accounts(uow, giver, receiver)
        await _claim_transfer_slot(uow, giver, config)
    legs = transfer_legs(source=giver, target=receiver, amount=amount)
    try:
        posted = await _post_as_only_write(
            uow, guild_id=guild_id, type_="transfer", legs=legs, reason=reason, actor_id=giver_id
        )
    except ledger.Overdraft:
        raise await _refuse_overdraft(uow, giver, amount, config, "send") from None
    receiver_entry = posted.entry(receiver)
    roles = roles_crossed(
        config.role_rewards, receiver_entry.total_received - amount, receiver_entry.total_received
    )
    result = TransferResult(
        id=posted.id,
        guild_id=guild_id,
        type="transfer",
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
        "transfer",
        guild_id,
        transaction_id=posted.id,
        giver_id=giver_id,
        receiver_id=receiver_id,
        amount=amount,
        reason=reason,
        giver_balance=result.giver_balance,
        receiver_balance=result.receiver_balance,
        roles_earned=roles,
    )
    return result


def _check_reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput("A reason is required for this action.", code="reason_required")
    if len(cleaned) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"The reason is limited to {MAX_REASON_LENGTH} characters.", code="reason_too_long"
        )
    return cleaned
