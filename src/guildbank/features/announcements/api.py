"""Announcements under ``/api/guilds/{guild_id}/announcements`` (post now or scheduled, edit,
cancel, delete, pin and unpin, the task helper, the bot's orphan report), and the guild's
postable channels. Saved embeds: ``embeds_api``; custom commands: ``commands_api``.

Writes are admin scope (the dashboard's and integrators' keys); reading and the bot's
orphan report need read/write scope. Every write takes an ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from guildbank.api.deps import Admin, Caller, GuildId, RowId, Writer, read
from guildbank.api.idempotency import write
from guildbank.core.schemas import Snowflake
from guildbank.features.announcements import orphans, queries, service, task_cards
from guildbank.features.announcements.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AnnouncementUpdate,
)
from guildbank.features.guilds.catalog import load_catalog
from guildbank.features.guilds.gate import feature_on
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import ChannelOut
from guildbank.platform.uow import UnitOfWork

__all__ = ["channels_router", "router"]

router = APIRouter(
    prefix="/guilds/{guild_id}", tags=["announcements"], dependencies=[feature_on("announcements")]
)
channels_router = APIRouter(prefix="/guilds/{guild_id}", tags=["guilds"])
CHANNEL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`invalid_embed`, `invalid_announcement`, `unknown_channel`, …"}
}


class OrphanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: Snowflake
    message_id: Snowflake


class TaskAnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: Snowflake | None = None


@channels_router.get("/channels", response_model=list[ChannelOut])
async def list_channels(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """The channels the bot can post in (text, announcement, forum), as it reported them."""

    async def action(uow: UnitOfWork) -> list[ChannelOut]:
        await get_config(uow, guild_id)
        return (await load_catalog(uow, guild_id)).live_channels()

    return await read(request, action)


@router.get("/announcements", response_model=list[AnnouncementOut])
async def list_announcements(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    include_deleted: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Newest first, each with its sync state (pending, synced, failed, orphaned)."""

    async def action(uow: UnitOfWork) -> list[AnnouncementOut]:
        return await queries.list_announcements(
            uow, guild_id=guild_id, include_deleted=include_deleted, limit=limit
        )

    return await read(request, action)


@router.post(
    "/announcements",
    response_model=AnnouncementOut,
    status_code=201,
    dependencies=[Admin],
    responses={**CHANNEL_ERRORS, 404: {"description": "`embed_not_found` (embed_id)"}},
)
async def create_announcement(
    request: Request, guild_id: GuildId, body: AnnouncementIn
) -> Response:
    """Post now, or at ``scheduled_at`` (the scheduler posts it; cancellable until then)."""

    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await service.create_announcement(
            uow, guild_id=guild_id, **body.model_dump(exclude={"embed"}), embed=body.embed
        )

    return await write(request, guild_id, action, status_code=201)


@router.post(
    "/announcements/task/{task_id:int}",
    response_model=AnnouncementOut,
    status_code=201,
    dependencies=[Admin],
    responses={
        **CHANNEL_ERRORS,
        404: {"description": "`task_not_found`"},
        409: {"description": "`announcement_state`: the task is not active"},
    },
)
async def announce_task(
    request: Request, guild_id: GuildId, task_id: RowId, body: TaskAnnouncementIn
) -> Response:
    """Post a task's card (in ``channel_id``, or the task's channel)."""

    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await task_cards.task_announcement(
            uow, guild_id=guild_id, task_id=task_id, channel_id=body.channel_id
        )

    return await write(request, guild_id, action, status_code=201)


@router.post(
    "/announcements/orphans",
    response_model=AnnouncementOut | None,
    dependencies=[Writer],
)
async def report_orphan(request: Request, guild_id: GuildId, body: OrphanIn) -> Response:
    """The bot saw a message deleted in Discord: the announcement it showed is flagged."""

    async def action(uow: UnitOfWork) -> AnnouncementOut | None:
        return await orphans.flag_orphan(
            uow, guild_id=guild_id, channel_id=body.channel_id, message_id=body.message_id
        )

    return await write(request, guild_id, action)


@router.get("/announcements/{announcement_id:int}", response_model=AnnouncementOut)
async def get_announcement(
    request: Request, guild_id: GuildId, announcement_id: RowId, _: Caller
) -> Response:
    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await queries.get_announcement(
            uow, guild_id=guild_id, announcement_id=announcement_id
        )

    return await read(request, action)


STATE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "`announcement_not_found`"},
    409: {"description": "`announcement_state` (e.g. already deleted) or `stale_version`"},
}


@router.put(
    "/announcements/{announcement_id:int}",
    response_model=AnnouncementOut,
    dependencies=[Admin],
    responses={**CHANNEL_ERRORS, **STATE_ERRORS},
)
async def update_announcement(
    request: Request, guild_id: GuildId, announcement_id: RowId, body: AnnouncementUpdate
) -> Response:
    """Edit it; a posted one's Discord message is edited (posted again if deleted there)."""

    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await service.update_announcement(
            uow,
            guild_id=guild_id,
            announcement_id=announcement_id,
            **body.model_dump(exclude={"embed"}, exclude_unset=True),
            embed=body.embed,
        )

    return await write(request, guild_id, action)


@router.delete(
    "/announcements/{announcement_id:int}",
    response_model=AnnouncementOut,
    dependencies=[Admin],
    responses=STATE_ERRORS,
)
async def delete_announcement(
    request: Request,
    guild_id: GuildId,
    announcement_id: RowId,
    delete_message: Annotated[bool, Query(description="Delete the Discord message too")] = True,
) -> Response:
    """Delete it (a scheduled one is not posted), and its Discord message unless told not to."""

    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await service.delete_announcement(
            uow, guild_id=guild_id, announcement_id=announcement_id, delete_message=delete_message
        )

    return await write(request, guild_id, action)


@router.post(
    "/announcements/{announcement_id:int}/cancel",
    response_model=AnnouncementOut,
    dependencies=[Admin],
    responses=STATE_ERRORS,
)
async def cancel_announcement(
    request: Request, guild_id: GuildId, announcement_id: RowId
) -> Response:
    """A scheduled announcement is not posted after all."""

    async def action(uow: UnitOfWork) -> AnnouncementOut:
        return await service.cancel_announcement(
            uow, guild_id=guild_id, announcement_id=announcement_id
        )

    return await write(request, guild_id, action)


def _pin_route(pinned: bool) -> None:
    verb = "pin" if pinned else "unpin"

    async def endpoint(request: Request, guild_id: GuildId, announcement_id: RowId) -> Response:
        async def action(uow: UnitOfWork) -> AnnouncementOut:
            return await service.set_pin(
                uow, guild_id=guild_id, announcement_id=announcement_id, pinned=pinned
            )

        return await write(request, guild_id, action)

    endpoint.__name__ = f"{verb}_announcement"
    endpoint.__doc__ = (
        f"{verb.title()} the announcement's message in Discord (an outbox job; a scheduled "
        "one is pinned when posted)."
    )
    router.post(
        f"/announcements/{{announcement_id:int}}/{verb}",
        response_model=AnnouncementOut,
        dependencies=[Admin],
        responses=STATE_ERRORS,
    )(endpoint)


_pin_route(True)
_pin_route(False)
