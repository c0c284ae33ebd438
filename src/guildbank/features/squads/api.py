"""Squads under ``/api/guilds/{guild_id}/squads``: reads, admin CRUD, join and leave.

Static paths (``/leaderboard``, ``/members/…``, ``/leave``) are declared before the
``/{squad_id}`` ones so they are never parsed as squad ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, UserId, Writer, read
from guildbank.api.idempotency import write
from guildbank.core.ids import MAX_SNOWFLAKE, SNOWFLAKE_PATTERN
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads import service as squads_service
from guildbank.features.squads.schemas import (
    SquadCreate,
    SquadDeleteOut,
    SquadJoinOut,
    SquadLeaveOut,
    SquadMemberOut,
    SquadMembershipOut,
    SquadOut,
    SquadRankingOut,
    SquadUpdate,
    SquadUserIn,
)
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}/squads", tags=["squads"])
SquadId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE, description="The squad's id")]


@router.get("", response_model=list[SquadOut])
async def list_squads(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    include_inactive: bool = False,
    user_id: Annotated[
        str | None,
        Query(
            pattern=SNOWFLAKE_PATTERN,
            max_length=20,
            description="Mark this member's squad and give each squad's join cost for them",
        ),
    ] = None,
) -> Response:
    """The guild's squads by name, with member counts (active ones unless asked)."""

    async def action(uow: UnitOfWork) -> list[SquadOut]:
        return await squads.list_squads(
            uow, guild_id=guild_id, include_inactive=include_inactive, user_id=user_id
        )

    return await read(request, action)


@router.post("", response_model=SquadOut, dependencies=[Admin], status_code=201)
async def create_squad(request: Request, guild_id: GuildId, body: SquadCreate) -> Response:
    """Create a squad tied to a Discord role (unique per guild, as is the name)."""

    async def action(uow: UnitOfWork) -> SquadOut:
        return await squad_admin.create_squad(
            uow,
            guild_id=guild_id,
            role_id=body.role_id,
            name=body.name,
            description=body.description,
            emoji=body.emoji,
            switch_cost=body.switch_cost,
            max_members=body.max_members,
            is_active=body.is_active,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action, status_code=201)


@router.get("/leaderboard", response_model=list[SquadRankingOut])
async def get_squad_leaderboard(
    request: Request, guild_id: GuildId, _: Caller, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> Response:
    """Active squads by their active members' total bytes."""

    async def action(uow: UnitOfWork) -> list[SquadRankingOut]:
        return await squads.squad_leaderboard(uow, guild_id=guild_id, limit=limit)

    return await read(request, action)


@router.get(
    "/members/{user_id}",
    response_model=SquadMembershipOut,
    responses={404: {"description": "The member is in no squad (code not_in_squad)"}},
)
async def get_member_squad(
    request: Request, guild_id: GuildId, user_id: UserId, _: Caller
) -> Response:
    """The member's squad; 404 ``not_in_squad`` when they have none."""

    async def action(uow: UnitOfWork) -> SquadMembershipOut:
        return await squads.member_squad(uow, guild_id=guild_id, user_id=user_id)

    return await read(request, action)


@router.post("/leave", response_model=SquadLeaveOut, dependencies=[Writer])
async def leave_squad(request: Request, guild_id: GuildId, body: SquadUserIn) -> Response:
    """Leave the current squad (free); the response names the role to remove."""

    async def action(uow: UnitOfWork) -> SquadLeaveOut:
        return await squads_service.leave_squad(uow, guild_id=guild_id, user_id=body.user_id)

    return await write(request, guild_id, action)


@router.get("/{squad_id}", response_model=SquadOut)
async def get_squad(request: Request, guild_id: GuildId, squad_id: SquadId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> SquadOut:
        return await squads.get_squad(uow, guild_id=guild_id, squad_id=squad_id)

    return await read(request, action)


@router.put("/{squad_id}", response_model=SquadOut, dependencies=[Admin])
async def update_squad(
    request: Request, guild_id: GuildId, squad_id: SquadId, body: SquadUpdate
) -> Response:
    """Change some fields; the others keep their values."""

    async def action(uow: UnitOfWork) -> SquadOut:
        return await squad_admin.update_squad(
            uow,
            guild_id=guild_id,
            squad_id=squad_id,
            changes=body.changes(),
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action)


@router.delete(
    "/{squad_id}",
    response_model=SquadDeleteOut,
    dependencies=[Admin],
    responses={409: {"description": "The squad has members (code squad_not_empty)"}},
)
async def delete_squad(
    request: Request,
    guild_id: GuildId,
    squad_id: SquadId,
    move_to: Annotated[
        int | None, Query(ge=1, le=MAX_SNOWFLAKE, description="Move members here")
    ] = None,
    kick_members: Annotated[bool, Query(description="Remove the members")] = False,
) -> Response:
    """Delete a squad; one with members needs ``move_to`` or ``kick_members=true``."""

    async def action(uow: UnitOfWork) -> SquadDeleteOut:
        return await squad_admin.delete_squad(
            uow,
            guild_id=guild_id,
            squad_id=squad_id,
            move_to=move_to,
            kick_members=kick_members,
        )

    return await write(request, guild_id, action)


@router.post(
    "/{squad_id}/join",
    response_model=SquadJoinOut,
    dependencies=[Writer],
    responses={
        400: {"description": "Insufficient bytes for the switch cost"},
        404: {"description": "Unknown squad"},
        409: {"description": "Full, inactive, or already in this squad"},
    },
)
async def join_squad(
    request: Request, guild_id: GuildId, squad_id: SquadId, body: SquadUserIn
) -> Response:
    """Join a squad: the first join is free, a switch pays the target's switch cost."""

    async def action(uow: UnitOfWork) -> SquadJoinOut:
        return await squads_service.join_squad(
            uow, guild_id=guild_id, user_id=body.user_id, squad_id=squad_id
        )

    return await write(request, guild_id, action)


@router.get("/{squad_id}/members", response_model=list[SquadMemberOut])
async def get_squad_members(
    request: Request,
    guild_id: GuildId,
    squad_id: SquadId,
    _: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SNOWFLAKE)] = 0,
) -> Response:
    """A squad's members in joining order, with their balances."""

    async def action(uow: UnitOfWork) -> list[SquadMemberOut]:
        return await squads.squad_members(
            uow, guild_id=guild_id, squad_id=squad_id, limit=limit, offset=offset
        )

    return await read(request, action)
