"""The members API under ``/api/guilds/{guild_id}``: the list (``/users``), a member's page,
the members who left, reactivation, the cleanup of members long gone (``/users/cleanup``),
the economy reset (``/economy/reset``), and the presence and names the bot reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.convertors import CONVERTOR_TYPES, Convertor, register_url_convertor

from guildbank.api.deps import Caller, GuildId, UserId, Writer, read
from guildbank.api.idempotency import write
from guildbank.core.schemas import SingleLine
from guildbank.features.economy.membership import set_member_active
from guildbank.features.economy.schemas import MemberStatusOut
from guildbank.features.guilds.api import AdminKey, acting
from guildbank.features.guilds.queries import get_config
from guildbank.features.members import queries, service
from guildbank.features.members.rules import (
    MAX_DAYS,
    MAX_PER_PAGE,
    MAX_SEARCH,
    MemberSort,
    MemberStatus,
)
from guildbank.features.members.schemas import (
    CleanupIn,
    CleanupOut,
    InactiveListOut,
    MemberDetailOut,
    MemberListOut,
    NamesIn,
    NamesOut,
    PresenceIn,
    ReactivateOut,
    ResetIn,
    ResetOut,
)
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]


class _DigitsConvertor(Convertor[str]):
    """A path segment of digits, kept as text (a Discord id): ``/users/{user_id:digits}``
    never matches ``/users/cleanup``, so no route claims a method it does not have there
    (``Allow`` on OPTIONS, 405s)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


if "digits" not in CONVERTOR_TYPES:
    register_url_convertor("digits", _DigitsConvertor())

router = APIRouter(prefix="/guilds/{guild_id}", tags=["members"])

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


@router.get("/users", response_model=MemberListOut)
async def list_users(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    page: Page = 1,
    per_page: PerPage = 25,
    sort_by: MemberSort = "balance",
    include_inactive: bool = False,
    status: Annotated[
        MemberStatus | None,
        Query(description="active, inactive or all (overrides include_inactive)"),
    ] = None,
    search: Annotated[
        SingleLine | None,
        Query(max_length=MAX_SEARCH, description="Any part of a member's name or id"),
    ] = None,
) -> Response:
    """Members with their balances and activity, paged. ``sort_by``: balance, received,
    sent, streak (highest first), joined/oldest (first account first) or newest."""
    shown: MemberStatus = status or ("all" if include_inactive else "active")

    async def action(uow: UnitOfWork) -> MemberListOut:
        return await queries.list_members(
            uow,
            guild_id=guild_id,
            search=search,
            status=shown,
            sort=sort_by,
            page=page,
            per_page=per_page,
        )

    return await read(request, action)


@router.get("/users/inactive", response_model=InactiveListOut)
async def list_inactive_users(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    days: Annotated[int, Query(ge=0, le=MAX_DAYS)] = 0,
    page: Page = 1,
    per_page: PerPage = 100,
) -> Response:
    """Members who left at least ``days`` days ago (0: all who left), with their leave dates,
    longest gone first."""

    async def action(uow: UnitOfWork) -> InactiveListOut:
        return await queries.inactive_members(
            uow, guild_id=guild_id, days=days, page=page, per_page=per_page
        )

    return await read(request, action)


@router.post(
    "/users/cleanup",
    response_model=CleanupOut,
    responses={
        422: {"description": "`days` out of range"},
    },
)
async def cleanup_users(
    request: Request, guild_id: GuildId, body: CleanupIn, key: AdminKey
) -> Response:
    """Members gone at least ``days`` days: their balances go back to the mint, one
    ``cleanup`` ledger transaction each, and their streaks are cleared (admin scope).
    ``dry_run`` (the default) lists who and how much without changing anything; the real run
    takes exactly what the dry run listed, if nothing changed meanwhile. Honours
    ``Idempotency-Key``."""

    async def action(uow: UnitOfWork) -> CleanupOut:
        return await service.cleanup(
            uow,
            guild_id=guild_id,
            days=body.days,
            dry_run=body.dry_run,
            reason=body.reason,
            actor_id=None if body.dry_run else acting(body.actor_id, key),
        )

    return await write(request, guild_id, action)


@router.put("/users/names", response_model=NamesOut, dependencies=[Writer])
async def put_user_names(request: Request, guild_id: GuildId, body: NamesIn) -> Response:
    """Names members go by, as the bot sees them (search by name reads them); members
    without an account are skipped."""

    async def action(uow: UnitOfWork) -> NamesOut:
        names = {entry.user_id: entry.display_name for entry in body.names}
        updated = await service.remember_names(uow, guild_id=guild_id, names=names)
        return NamesOut(guild_id=guild_id, updated=updated)

    return await write(request, guild_id, action)


@router.get(
    "/users/{user_id:digits}",
    response_model=MemberDetailOut,
    responses={404: {"description": "`member_not_found`: no account in this server"}},
)
async def get_user(
    request: Request,
    guild_id: GuildId,
    user_id: UserId,
    _: Caller,
    recent: Annotated[int, Query(ge=0, le=100)] = 10,
) -> Response:
    """A member: balance, totals, streak and tier, rank, squad, inventory, tasks and recent
    transactions."""

    async def action(uow: UnitOfWork) -> MemberDetailOut:
        return await queries.member_detail(uow, guild_id=guild_id, user_id=user_id, recent=recent)

    return await read(request, action)


@router.post(
    "/users/{user_id:digits}/reactivate",
    response_model=ReactivateOut,
    dependencies=[Writer],
    responses={404: {"description": "`member_not_found`: no account in this server"}},
)
async def reactivate_user(request: Request, guild_id: GuildId, user_id: UserId) -> Response:
    """Show a member who left again (leaderboards count them); no new starting balance."""

    async def action(uow: UnitOfWork) -> ReactivateOut:
        return await service.reactivate(uow, guild_id=guild_id, user_id=user_id)

    return await write(request, guild_id, action)


@router.put("/members/{user_id}/status", response_model=MemberStatusOut, dependencies=[Writer])
async def put_member_status(
    request: Request, guild_id: GuildId, user_id: UserId, body: PresenceIn
) -> Response:
    """Mark a member as left (kept, hidden from leaderboards) or back (no new starting
    balance); with ``display_name``, also remember the name they go by."""

    async def action(uow: UnitOfWork) -> MemberStatusOut:
        await get_config(uow, guild_id)
        known = await set_member_active(uow, guild_id=guild_id, user_id=user_id, active=body.active)
        if body.display_name is not None:
            await service.remember_names(uow, guild_id=guild_id, names={user_id: body.display_name})
        return MemberStatusOut(guild_id=guild_id, user_id=user_id, active=body.active, known=known)

    return await write(request, guild_id, action)


@router.post(
    "/economy/reset",
    response_model=ResetOut,
    responses={
        400: {"description": '`reset_not_confirmed`: ``confirm`` must be "RESET"'},
    },
)
async def reset_economy(
    request: Request, guild_id: GuildId, body: ResetIn, key: AdminKey
) -> Response:
    """Reset the guild's economy: every member's balance goes back to the mint (one ``reset``
    ledger transaction each) and every streak is cleared; the history stays. Admin scope,
    ``confirm: "RESET"``; ``dry_run`` says how many members and how much. Honours
    ``Idempotency-Key``."""

    async def action(uow: UnitOfWork) -> ResetOut:
        return await service.reset_economy(
            uow,
            guild_id=guild_id,
            confirm=body.confirm,
            dry_run=body.dry_run,
            reason=body.reason,
            actor_id=acting(body.actor_id, key),
        )

    return await write(request, guild_id, action)
