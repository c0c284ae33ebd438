"""A member's presence: leaving hides the account, rejoining shows it again."""

from __future__ import annotations

from guildbank.features.economy.events import MemberActiveChanged
from guildbank.ledger.members import set_account_active
from guildbank.platform.uow import UnitOfWork

__all__ = ["set_member_active"]


async def set_member_active(uow: UnitOfWork, *, guild_id: str, user_id: str, active: bool) -> bool:
    """Mark a member as having left (hidden from leaderboards) or rejoined; True if known."""
    changed = await set_account_active(uow, guild_id=guild_id, user_id=user_id, active=active)
    if changed:
        uow.emit(MemberActiveChanged(guild_id=guild_id, user_id=user_id, active=active))
    return changed
