"""Member presence: the bot reports leaves and rejoins (inactive members leave leaderboards)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guildbank.api.deps import GuildId, UserId, Writer
from guildbank.api.idempotency import write
from guildbank.features.economy.membership import set_member_active
from guildbank.features.economy.schemas import MemberStatusIn, MemberStatusOut
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}/members", tags=["members"])


@router.put("/{user_id}/status", response_model=MemberStatusOut, dependencies=[Writer])
async def put_member_status(
    request: Request, guild_id: GuildId, user_id: UserId, body: MemberStatusIn
) -> Response:
    """Mark a member as left (kept, hidden from leaderboards) or back (no new starting balance)."""

    async def action(uow: UnitOfWork) -> MemberStatusOut:
        await get_config(uow, guild_id)
        known = await set_member_active(uow, guild_id=guild_id, user_id=user_id, active=body.active)
        return MemberStatusOut(guild_id=guild_id, user_id=user_id, active=body.active, known=known)

    return await write(request, guild_id, action)
