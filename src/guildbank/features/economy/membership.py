"""A member's presence: leaving hides the account, rejoining shows it again."""

from __future__ import annotations

from sqlalchemy import update

from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import UnitOfWork

__all__ = ["set_member_active"]


async def set_member_active(uow: UnitOfWork, *, guild_id: str, user_id: str, active: bool) -> bool:
    """Mark a member as having left (hidden from leaderboards) or rejoined; True if known."""
    result = await uow.session.execute(
        update(Account)
        .where(Account.guild_id == guild_id, Account.user_id == user_id, ~Account.is_system)
        .values(is_active=active, left_at=None if active else uow.now, updated_at=uow.now)
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        uow.emit("member.active_changed", guild_id, user_id=user_id, active=active)
    return changed
