"""Guild registration: the bot calls ``PUT /api/guilds/{id}`` when it joins a server."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guildbank.api.deps import GuildId, Writer
from guildbank.api.idempotency import write
from guildbank.features.guilds.schemas import GuildIn, GuildOut
from guildbank.features.guilds.service import register_guild
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/guilds", tags=["guilds"])


@router.put(
    "/{guild_id}",
    response_model=GuildOut,
    dependencies=[Writer],
    summary="Register a guild (idempotent; creates default settings on first call)",
)
async def put_guild(request: Request, guild_id: GuildId, body: GuildIn | None = None) -> Response:
    name = body.name if body is not None else ""

    async def action(uow: UnitOfWork) -> GuildOut:
        created = await register_guild(uow, guild_id=guild_id, name=name)
        return GuildOut(id=guild_id, name=name, created=created)

    return await write(request, guild_id, action)
