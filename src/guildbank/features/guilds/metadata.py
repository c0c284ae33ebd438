"""Storing the channels and roles the bot reports: a full replacement when a guild becomes
available, one upsert or deletion per gateway event after that.

Deleted channels and roles keep their row (``deleted_at``), so a setting that still names one
is shown as "#old-name (deleted)" rather than a bare id. Every call is idempotent: the bot may
repeat it after a reconnect, and two bot processes may report the same guild.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import ChannelIn, RoleIn
from guildbank.platform.models.guilds import Guild, GuildChannel, GuildRole
from guildbank.platform.uow import UnitOfWork

__all__ = ["delete_channel", "delete_role", "replace_metadata", "upsert_channel", "upsert_role"]

Model = type[GuildChannel] | type[GuildRole]


async def _upsert(uow: UnitOfWork, model: Model, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT … ON CONFLICT (guild_id, id) DO UPDATE: the reported values win, undeleted."""
    if not rows:
        return
    module = postgresql if uow.services.dialect == "postgresql" else sqlite
    statement = module.insert(model).values(
        [{**row, "deleted_at": None, "updated_at": uow.now} for row in rows]
    )
    columns = [c for c in rows[0] if c not in ("guild_id", "id")]
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["guild_id", "id"],
            set_={
                **{c: statement.excluded[c] for c in columns},
                "deleted_at": None,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def _mark_deleted(
    uow: UnitOfWork,
    model: Model,
    guild_id: str,
    *,
    keep: Sequence[str] | None = None,
    only: str = "",
) -> bool:
    """Mark rows deleted: one (``only``) or every one not in ``keep``; True if any changed."""
    statement = update(model).where(model.guild_id == guild_id, model.deleted_at.is_(None))
    if only:
        statement = statement.where(model.id == only)
    elif keep:
        statement = statement.where(model.id.not_in(list(keep)))
    result = await uow.session.execute(statement.values(deleted_at=uow.now, updated_at=uow.now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _channel(guild_id: str, channel: ChannelIn) -> dict[str, Any]:
    return {"guild_id": guild_id, **channel.model_dump()}


def _role(guild_id: str, role: RoleIn) -> dict[str, Any]:
    return {"guild_id": guild_id, **role.model_dump()}


async def replace_metadata(
    uow: UnitOfWork, *, guild_id: str, channels: Sequence[ChannelIn], roles: Sequence[RoleIn]
) -> None:
    """The guild's full lists: stored as given; what is not listed any more is deleted."""
    await get_config(uow, guild_id)  # an unknown guild is a 404
    for model, rows in (
        (GuildChannel, [_channel(guild_id, c) for c in {c.id: c for c in channels}.values()]),
        (GuildRole, [_role(guild_id, r) for r in {r.id: r for r in roles}.values()]),
    ):
        await _upsert(uow, model, rows)
        await _mark_deleted(uow, model, guild_id, keep=[row["id"] for row in rows])
    await uow.session.execute(
        update(Guild).where(Guild.id == guild_id).values(metadata_synced_at=uow.now)
    )


async def upsert_channel(uow: UnitOfWork, *, guild_id: str, channel: ChannelIn) -> None:
    await get_config(uow, guild_id)
    await _upsert(uow, GuildChannel, [_channel(guild_id, channel)])


async def upsert_role(uow: UnitOfWork, *, guild_id: str, role: RoleIn) -> None:
    await get_config(uow, guild_id)
    await _upsert(uow, GuildRole, [_role(guild_id, role)])


async def delete_channel(uow: UnitOfWork, *, guild_id: str, channel_id: str) -> bool:
    """Mark the channel deleted; False when it was unknown or already deleted."""
    await get_config(uow, guild_id)
    return await _mark_deleted(uow, GuildChannel, guild_id, only=channel_id)


async def delete_role(uow: UnitOfWork, *, guild_id: str, role_id: str) -> bool:
    """Mark the role deleted; False when it was unknown or already deleted."""
    await get_config(uow, guild_id)
    return await _mark_deleted(uow, GuildRole, guild_id, only=role_id)
