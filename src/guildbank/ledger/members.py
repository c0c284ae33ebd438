"""What a member's account row records besides money: the daily claim and its streak, the
transfer cooldown slot, presence, and how often the balance may change.

Features decide what these mean (the economy's daily reward and cooldown rules); the kernel
owns the row, so each mark is one conditional statement here, never a read-modify-write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, or_, select, update

from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "DailyMark",
    "claim_transfer_slot",
    "limit_balance_changes",
    "mark_daily_claim",
    "set_account_active",
    "stored_names",
]


@dataclass(frozen=True, slots=True)
class DailyMark:
    """The member's row once today's claim is marked (before the reward is posted)."""

    streak: int
    balance: int
    total_received: int
    total_sent: int


async def limit_balance_changes(
    uow: UnitOfWork, *, guild_id: str, user_id: str, per_minute: int
) -> None:
    """Count one balance change of the member (RateLimited beyond ``per_minute``; 0 is off).

    Every verb that changes a member's balance at their request shares this one budget.
    """
    await uow.rate_limit(per_minute, "balance", guild_id, user_id)


async def mark_daily_claim(uow: UnitOfWork, account: int, *, today: date) -> DailyMark | None:
    """Mark today's claim, the streak growing on consecutive days; None if already claimed.

    One conditional update, so two claims racing on one member mark it once.
    """
    marked = (
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
    return None if marked is None else DailyMark(*marked)


async def claim_transfer_slot(uow: UnitOfWork, account: int, *, cooldown: timedelta) -> int | None:
    """Take the sender's transfer slot when ``cooldown`` has passed since their last one:
    None when taken, else the seconds left. One conditional update (no check-then-act race)."""
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
    if claimed is not None:
        return None
    last = (
        await uow.session.execute(select(Account.last_transfer_at).where(Account.id == account))
    ).scalar_one()
    assert last is not None
    if last.tzinfo is None:
        last = last.replace(tzinfo=uow.now.tzinfo)
    return max(1, int((last + cooldown - uow.now).total_seconds()))


async def set_account_active(uow: UnitOfWork, *, guild_id: str, user_id: str, active: bool) -> bool:
    """Mark a member as having left (hidden from leaderboards) or rejoined; True if known."""
    result = await uow.session.execute(
        update(Account)
        .where(Account.guild_id == guild_id, Account.user_id == user_id, ~Account.is_system)
        .values(is_active=active, left_at=None if active else uow.now, updated_at=uow.now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def stored_names(uow: UnitOfWork, *, guild_id: str, user_ids: list[str]) -> dict[str, str]:
    """The names these members go by, as the bot last reported them (``display_name``): what
    the dashboard shows when Discord cannot be asked (no bot token, an outage, a demo)."""
    rows = await uow.session.execute(
        select(Account.user_id, Account.display_name).where(
            Account.guild_id == guild_id,
            Account.user_id.in_(user_ids),
            Account.display_name.is_not(None),
        )
    )
    return {user_id: name for user_id, name in rows.all() if name}
