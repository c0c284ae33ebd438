"""Saved embeds under ``/api/guilds/{guild_id}/embeds``: listed, created and edited (checked
against Discord's limits, every violation named), deleted, and posted in a channel.

Writes are admin scope and take an ``Idempotency-Key``; reading needs any key of the guild.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, RowId, read
from guildbank.api.idempotency import write
from guildbank.features.announcements import embeds, queries
from guildbank.features.announcements.schemas import (
    EmbedPostIn,
    EmbedTemplateIn,
    EmbedTemplateOut,
    EmbedTemplateUpdate,
)
from guildbank.features.guilds.gate import feature_on
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(
    prefix="/guilds/{guild_id}", tags=["announcements"], dependencies=[feature_on("announcements")]
)
EMBED_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`invalid_embed`: every broken limit in `violations`"}
}


@router.get("/embeds", response_model=list[EmbedTemplateOut])
async def list_embeds(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """Saved embeds by name, with where each posted one stands in Discord."""
    return await read(request, lambda uow: queries.list_embeds(uow, guild_id=guild_id))


@router.post(
    "/embeds",
    response_model=EmbedTemplateOut,
    status_code=201,
    dependencies=[Admin],
    responses={**EMBED_ERRORS, 409: {"description": "`embed_name_taken`"}},
)
async def create_embed(request: Request, guild_id: GuildId, body: EmbedTemplateIn) -> Response:
    """Save an embed, validated against Discord's limits (every violation named)."""

    async def action(uow: UnitOfWork) -> EmbedTemplateOut:
        return await embeds.create_embed(uow, guild_id=guild_id, name=body.name, embed=body.embed)

    return await write(request, guild_id, action, status_code=201)


@router.get("/embeds/{embed_id:int}", response_model=EmbedTemplateOut)
async def get_embed(request: Request, guild_id: GuildId, embed_id: RowId, _: Caller) -> Response:
    return await read(
        request, lambda uow: queries.get_embed(uow, guild_id=guild_id, embed_id=embed_id)
    )


@router.put(
    "/embeds/{embed_id:int}",
    response_model=EmbedTemplateOut,
    dependencies=[Admin],
    responses={
        **EMBED_ERRORS,
        404: {"description": "`embed_not_found`"},
        409: {"description": "`embed_name_taken` or `stale_version`"},
    },
)
async def update_embed(
    request: Request, guild_id: GuildId, embed_id: RowId, body: EmbedTemplateUpdate
) -> Response:
    """Rename and/or change the embed; a posted one's message is edited to match."""

    async def action(uow: UnitOfWork) -> EmbedTemplateOut:
        return await embeds.update_embed(
            uow,
            guild_id=guild_id,
            embed_id=embed_id,
            name=body.name,
            embed=body.embed,
            expected_version=body.expected_version,
        )

    return await write(request, guild_id, action)


@router.delete(
    "/embeds/{embed_id:int}",
    response_model=EmbedTemplateOut,
    dependencies=[Admin],
    responses={
        404: {"description": "`embed_not_found`"},
        409: {"description": "`embed_in_use` by a custom command"},
    },
)
async def delete_embed(request: Request, guild_id: GuildId, embed_id: RowId) -> Response:
    """Delete the embed and, if it was posted, its message."""

    async def action(uow: UnitOfWork) -> EmbedTemplateOut:
        return await embeds.delete_embed(uow, guild_id=guild_id, embed_id=embed_id)

    return await write(request, guild_id, action)


@router.post(
    "/embeds/{embed_id:int}/post",
    response_model=EmbedTemplateOut,
    dependencies=[Admin],
    responses={
        400: {"description": "`unknown_channel`, `not_a_text_channel`, …"},
        404: {"description": "`embed_not_found`"},
    },
)
async def post_embed(
    request: Request, guild_id: GuildId, embed_id: RowId, body: EmbedPostIn
) -> Response:
    """Show the embed in a channel (edited in place when it is there already)."""

    async def action(uow: UnitOfWork) -> EmbedTemplateOut:
        return await embeds.post_embed(
            uow, guild_id=guild_id, embed_id=embed_id, channel_id=body.channel_id
        )

    return await write(request, guild_id, action)
