"""Embed templates: create, update, delete, and post in a channel (writes).

A posted template is *the* message of the outbox key ``embed:{id}``: posting again (in the
same channel) or saving a change edits it in place, posting in another channel moves it,
deleting the template deletes the message. All through outbox jobs in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from guildbank.features.announcements.errors import (
    EmbedInUse,
    EmbedNameTaken,
    InvalidEmbed,
    StaleVersion,
)
from guildbank.features.announcements.events import EmbedChanged
from guildbank.features.announcements.queries import embed_key, get_embed, get_embed_or_raise
from guildbank.features.announcements.rules import embed_violations
from guildbank.features.announcements.schemas import EmbedIn, EmbedTemplateOut
from guildbank.features.guilds.catalog import check_channel, load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.outbox.service import enqueue_message
from guildbank.platform.models.announcements import CustomCommand, EmbedTemplate
from guildbank.platform.uow import UnitOfWork

__all__ = ["checked_embed", "create_embed", "delete_embed", "post_embed", "update_embed"]


def checked_embed(embed: EmbedIn, *, prefix: str = "") -> dict[str, Any]:
    """Discord's JSON for ``embed``; InvalidEmbed naming every broken limit."""
    data = embed.as_discord()
    if not data.get("fields"):
        data.pop("fields", None)
    problems = embed_violations(data)
    if problems:
        raise InvalidEmbed(problems, prefix=prefix)
    return data


async def _name_free(uow: UnitOfWork, guild_id: str, name: str, exclude: int | None) -> None:
    query = select(EmbedTemplate.id).where(
        EmbedTemplate.guild_id == guild_id, func.lower(EmbedTemplate.name) == name.lower()
    )
    if exclude is not None:
        query = query.where(EmbedTemplate.id != exclude)
    if await uow.session.scalar(query) is not None:
        raise EmbedNameTaken(name)


async def create_embed(
    uow: UnitOfWork, *, guild_id: str, name: str, embed: EmbedIn
) -> EmbedTemplateOut:
    await get_config(uow, guild_id)
    data = checked_embed(embed, prefix="embed.")
    await _name_free(uow, guild_id, name, None)
    row = EmbedTemplate(
        guild_id=guild_id, name=name, embed=data, created_at=uow.now, updated_at=uow.now
    )
    uow.session.add(row)
    try:
        await uow.session.flush()
    except IntegrityError:  # a concurrent twin took the name
        raise EmbedNameTaken(name) from None
    uow.emit(EmbedChanged(guild_id=guild_id, embed_id=row.id, action="created"))
    return await get_embed(uow, guild_id=guild_id, embed_id=row.id)


async def update_embed(
    uow: UnitOfWork,
    *,
    guild_id: str,
    embed_id: int,
    name: str | None = None,
    embed: EmbedIn | None = None,
    expected_version: int | None = None,
) -> EmbedTemplateOut:
    """Change the name and/or the embed; a posted template's message is edited to match."""
    await get_config(uow, guild_id)
    row = await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)
    if expected_version is not None and expected_version != row.version:
        raise StaleVersion(what=f"Embed {embed_id}", expected=expected_version, current=row.version)
    if name is not None and name != row.name:
        await _name_free(uow, guild_id, name, row.id)
        row.name = name
    if embed is not None:
        row.embed = checked_embed(embed, prefix="embed.")
        if row.channel_id is not None:
            await enqueue_message(
                uow,
                guild_id=guild_id,
                channel_id=row.channel_id,
                embeds=[row.embed],
                key=embed_key(row.id),
            )
    row.version += 1
    row.updated_at = uow.now
    try:
        await uow.session.flush()
    except IntegrityError:
        raise EmbedNameTaken(name or row.name) from None
    uow.emit(EmbedChanged(guild_id=guild_id, embed_id=row.id, action="updated"))
    return await get_embed(uow, guild_id=guild_id, embed_id=row.id)


async def post_embed(
    uow: UnitOfWork, *, guild_id: str, embed_id: int, channel_id: str
) -> EmbedTemplateOut:
    """Show the template in ``channel_id`` (edited in place if already there, moved if it
    was in another channel)."""
    await get_config(uow, guild_id)
    row = await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)
    await check_channel(uow, await load_catalog(uow, guild_id), channel_id, setting="channel_id")
    row.channel_id = channel_id
    row.updated_at = uow.now
    await enqueue_message(
        uow, guild_id=guild_id, channel_id=channel_id, embeds=[row.embed], key=embed_key(row.id)
    )
    await uow.session.flush()
    uow.emit(EmbedChanged(guild_id=guild_id, embed_id=row.id, action="posted"))
    return await get_embed(uow, guild_id=guild_id, embed_id=row.id)


async def delete_embed(uow: UnitOfWork, *, guild_id: str, embed_id: int) -> EmbedTemplateOut:
    """Delete the template (refused while a custom command answers with it) and its message."""
    await get_config(uow, guild_id)
    row = await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)
    users = list(
        (
            await uow.session.execute(
                select(CustomCommand.name)
                .where(CustomCommand.guild_id == guild_id, CustomCommand.embed_id == embed_id)
                .order_by(CustomCommand.name)
            )
        ).scalars()
    )
    if users:
        raise EmbedInUse(embed_id, users)
    out = await get_embed(uow, guild_id=guild_id, embed_id=embed_id)
    if row.channel_id is not None:
        await enqueue_message(
            uow, guild_id=guild_id, channel_id=row.channel_id, key=embed_key(row.id), delete=True
        )
    await uow.session.delete(row)
    await uow.session.flush()
    uow.emit(EmbedChanged(guild_id=guild_id, embed_id=embed_id, action="deleted"))
    return out
