"""Custom commands under ``/api/guilds/{guild_id}/commands``: ``/name`` answered with a text
and/or a saved embed, with Discord's name rules; the bots register them per guild.

Writes are admin scope and take an ``Idempotency-Key``; reading needs any key of the guild.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, read
from guildbank.api.idempotency import write
from guildbank.features.announcements import custom, queries
from guildbank.features.announcements.schemas import (
    CommandSetOut,
    CustomCommandIn,
    CustomCommandOut,
)
from guildbank.features.guilds.gate import feature_on
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(
    prefix="/guilds/{guild_id}", tags=["announcements"], dependencies=[feature_on("announcements")]
)
CommandName = Annotated[str, Path(min_length=1, max_length=64, description="The command's name")]


@router.get("/commands", response_model=CommandSetOut)
async def list_commands(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """The guild's custom commands and their version (bots register them again on change)."""
    return await read(request, lambda uow: queries.command_set(uow, guild_id=guild_id))


@router.post(
    "/commands",
    response_model=CustomCommandOut,
    status_code=201,
    dependencies=[Admin],
    responses={
        400: {"description": "`invalid_command`: Discord's name rules, or no answer"},
        404: {"description": "`embed_not_found`"},
        409: {"description": "`command_name_taken`"},
    },
)
async def create_command(request: Request, guild_id: GuildId, body: CustomCommandIn) -> Response:
    """Define ``/name``: 1–32 lowercase letters, digits, - or _, not a built-in command."""

    async def action(uow: UnitOfWork) -> CustomCommandOut:
        return await custom.create_command(uow, guild_id=guild_id, **body.model_dump())

    return await write(request, guild_id, action, status_code=201)


@router.delete(
    "/commands/{name}",
    response_model=CustomCommandOut,
    dependencies=[Admin],
    responses={404: {"description": "`command_not_found`"}},
)
async def delete_command(request: Request, guild_id: GuildId, name: CommandName) -> Response:
    async def action(uow: UnitOfWork) -> CustomCommandOut:
        return await custom.delete_command(uow, guild_id=guild_id, name=name)

    return await write(request, guild_id, action)
