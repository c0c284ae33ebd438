"""Squads under ``/api/guilds/{guild_id}/squads``: reads, admin CRUD, join and leave.

Edits are optimistic: ``GET /{squad_id}`` answers the squad's ``version`` (also its ``ETag``);
a ``PUT`` with ``If-Match`` is refused (409 ``stale_version``, with the current version) when
the squad changed in between, and a member limit below the member count is refused (400).
Admin writes without an ``actor_id`` record the API key's name as who acted.

Static paths (``/leaderboard``, ``/members/…``, ``/leave``) are declared before the
``/{squad_id}`` ones, and a squad id is digits (``{squad_id:int}``): ``PUT /leaderboard``
is then a 405 (no such method there), not a squad id that fails validation.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import Caller, GuildId, UserId, Writer, read, require
from guildbank.api.errors import ApiError
from guildbank.api.idempotency import write
from guildbank.core.ids import MAX_SNOWFLAKE, SNOWFLAKE_PATTERN
from guildbank.features.guilds.gate import feature_on
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
from guildbank.platform.apikeys import Principal
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

# Every route here refuses (409 feature_disabled) while the guild has squads off.
router = APIRouter(
    prefix="/guilds/{guild_id}/squads", tags=["squads"], dependencies=[feature_on("squads")]
)
SquadId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE, description="The squad's id")]
AdminKey = Annotated[Principal, Depends(require("admin"))]
IfMatch = Annotated[
    str | None,
    Header(
        description='The squad\'s version you edited (its ETag, e.g. "3f2a…"): a squad changed '
        "since is refused with 409 stale_version",
        max_length=40,
    ),
]
_VERSION = re.compile(r'(?:W/)?"?([0-9a-f]{16})"?')


def _expected_version(if_match: str | None) -> str | None:
    """The version an ``If-Match`` header names; None when absent or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _VERSION.fullmatch(if_match.strip())
    if found is None:
        raise ApiError(400, "invalid_if_match", 'If-Match takes a squad\'s ETag, e.g. "3f2a…"')
    return found.group(1)


def _actor(actor_id: str | None, key: Principal) -> str:
    """Who acted: the Discord user the caller names, else the API key (by name)."""
    return actor_id or f"key:{key.name}"[:32]


def _with_etag(response: Response, views: list[SquadOut]) -> Response:
    if views:  # a replayed idempotent write ran no action: no version to tell
        response.headers["ETag"] = f'"{views[-1].version}"'
    return response


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


@router.post(
    "",
    response_model=SquadOut,
    status_code=201,
    responses={
        400: {"description": "`invalid_squad_name`, `invalid_emoji`, `invalid_amount`, …"},
        409: {"description": "`squad_name_taken` or `squad_role_taken`"},
    },
)
async def create_squad(
    request: Request, guild_id: GuildId, body: SquadCreate, key: AdminKey
) -> Response:
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
            actor_id=_actor(body.actor_id, key),
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


@router.post(
    "/leave",
    response_model=SquadLeaveOut,
    dependencies=[Writer],
    responses={404: {"description": "The member is in no squad (`not_in_squad`)"}},
)
async def leave_squad(request: Request, guild_id: GuildId, body: SquadUserIn) -> Response:
    """Leave the current squad (free); the response names the role to remove."""

    async def action(uow: UnitOfWork) -> SquadLeaveOut:
        return await squads_service.leave_squad(uow, guild_id=guild_id, user_id=body.user_id)

    return await write(request, guild_id, action)


@router.get("/{squad_id:int}", response_model=SquadOut)
async def get_squad(request: Request, guild_id: GuildId, squad_id: SquadId, _: Caller) -> Response:
    """One squad, with its ``version`` (also the ``ETag``) for an optimistic ``PUT``."""
    views: list[SquadOut] = []

    async def action(uow: UnitOfWork) -> SquadOut:
        view = await squads.get_squad(uow, guild_id=guild_id, squad_id=squad_id)
        views.append(view)
        return view

    return _with_etag(await read(request, action), views)


@router.put(
    "/{squad_id:int}",
    response_model=SquadOut,
    responses={
        400: {
            "description": "An invalid field (`invalid_squad_name`, `unknown_field`, …), "
            "`max_members_below_count`, or `invalid_if_match`"
        },
        404: {"description": "Unknown squad (`squad_not_found`)"},
        409: {
            "description": "`squad_name_taken`, `squad_role_taken`, or `stale_version` "
            "(If-Match: the body's `current` is the squad's version now)"
        },
    },
)
async def update_squad(
    request: Request,
    guild_id: GuildId,
    squad_id: SquadId,
    body: SquadUpdate,
    key: AdminKey,
    if_match: IfMatch = None,
) -> Response:
    """Change some fields; the others keep their values. With ``If-Match``: only if the
    squad is still at that version."""
    expected = _expected_version(if_match)
    views: list[SquadOut] = []

    async def action(uow: UnitOfWork) -> SquadOut:
        view = await squad_admin.update_squad(
            uow,
            guild_id=guild_id,
            squad_id=squad_id,
            changes=body.changes(),
            actor_id=_actor(body.actor_id, key),
            expected_version=expected,
            strict_capacity=True,
        )
        views.append(view)
        return view

    return _with_etag(await write(request, guild_id, action), views)


@router.delete(
    "/{squad_id:int}",
    response_model=SquadDeleteOut,
    responses={
        400: {"description": "`move_to` the squad itself, or with `kick_members`"},
        404: {"description": "Unknown squad, or `move_to` squad (`squad_not_found`)"},
        409: {"description": "The squad has members (`squad_not_empty`)"},
    },
)
async def delete_squad(
    request: Request,
    guild_id: GuildId,
    squad_id: SquadId,
    move_to: Annotated[
        int | None, Query(ge=1, le=MAX_SNOWFLAKE, description="Move members here")
    ] = None,
    kick_members: Annotated[bool, Query(description="Remove the members")] = False,
    *,
    key: AdminKey,
) -> Response:
    """Delete a squad; one with members needs ``move_to`` or ``kick_members=true``."""

    async def action(uow: UnitOfWork) -> SquadDeleteOut:
        return await squad_admin.delete_squad(
            uow,
            guild_id=guild_id,
            squad_id=squad_id,
            move_to=move_to,
            kick_members=kick_members,
            actor_id=_actor(None, key),
        )

    return await write(request, guild_id, action)


@router.post(
    "/{squad_id:int}/join",
    response_model=SquadJoinOut,
    dependencies=[Writer],
    responses={
        400: {"description": "`insufficient_balance` for the switch cost, or `squad_changed`"},
        404: {"description": "Unknown squad (`squad_not_found`)"},
        409: {"description": "`squad_full`, `squad_inactive` or `already_in_squad`"},
        429: {"description": "Too many balance changes for this member (`rate_limited`)"},
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


@router.get("/{squad_id:int}/members", response_model=list[SquadMemberOut])
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
