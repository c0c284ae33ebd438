"""The channels and roles of a guild, as the bot last reported them: named pickers for people,
and the checks that refuse ids which do not fit (unknown, another guild's, deleted, not a text
channel, a role the bot could never grant).

Until the bot has reported a guild's full list once (``guilds.metadata_synced_at``) nothing is
known, so ids are taken as typed; a channel stored under *another* guild is refused even then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from guildbank.features.guilds.errors import BadChannel, BadRole, RoleNotAssignable
from guildbank.features.guilds.schemas import ChannelOut, GuildMetadataOut, RoleOut
from guildbank.platform.models.guilds import Guild, GuildChannel, GuildRole
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "POSTABLE_CHANNEL_TYPES",
    "Catalog",
    "check_assignable_role",
    "check_channel",
    "load_catalog",
]

# Discord channel types a bot can post a message in: text (0) and announcement (5).
POSTABLE_CHANNEL_TYPES = frozenset({0, 5})


@dataclass(frozen=True, slots=True)
class Catalog:
    """One guild's channels and roles by id (deleted ones included, marked), highest first."""

    guild_id: str
    synced: bool
    channels: dict[str, ChannelOut]
    roles: dict[str, RoleOut]

    def live_roles(self) -> list[RoleOut]:
        """Roles people can pick: not deleted, not @everyone."""
        return [r for r in self.roles.values() if not r.deleted and r.id != self.guild_id]

    def live_channels(self, *, postable: bool = True) -> list[ChannelOut]:
        return [c for c in self.channels.values() if not c.deleted and (c.postable or not postable)]

    def as_out(self) -> GuildMetadataOut:
        return GuildMetadataOut(
            guild_id=self.guild_id,
            synced=self.synced,
            channels=list(self.channels.values()),
            roles=list(self.roles.values()),
        )


def _bot_top(rows: Iterable[GuildRole]) -> int | None:
    """The position of the bot's highest role; None when no role is known to be the bot's."""
    held = [r.position for r in rows if r.bot_holds and r.deleted_at is None]
    return max(held) if held else None


async def load_catalog(uow: UnitOfWork, guild_id: str) -> Catalog:
    session = uow.session
    synced = (
        await session.execute(select(Guild.metadata_synced_at).where(Guild.id == guild_id))
    ).scalar_one_or_none() is not None
    channel_rows = (
        await session.execute(
            select(GuildChannel)
            .where(GuildChannel.guild_id == guild_id)
            .order_by(GuildChannel.position, GuildChannel.name, GuildChannel.id)
        )
    ).scalars()
    role_rows = list(
        (
            await session.execute(
                select(GuildRole)
                .where(GuildRole.guild_id == guild_id)
                .order_by(GuildRole.position.desc(), GuildRole.id)
            )
        ).scalars()
    )
    top = _bot_top(role_rows)
    channels = {
        c.id: ChannelOut(
            id=c.id,
            name=c.name,
            type=c.type,
            position=c.position,
            parent_id=c.parent_id,
            deleted=c.deleted_at is not None,
            postable=c.type in POSTABLE_CHANNEL_TYPES,
        )
        for c in channel_rows
    }
    roles = {
        r.id: RoleOut(
            id=r.id,
            name=r.name,
            position=r.position,
            color=r.color,
            managed=r.managed,
            bot_holds=r.bot_holds,
            deleted=r.deleted_at is not None,
            assignable=(
                r.deleted_at is None
                and not r.managed
                and r.id != guild_id
                and (top is None or r.position < top)
            ),
        )
        for r in role_rows
    }
    return Catalog(guild_id, synced, channels, roles)


async def check_channel(
    uow: UnitOfWork, catalog: Catalog, channel_id: str, *, setting: str
) -> None:
    """Refuse a channel the bot could not post in for this guild."""
    channel = catalog.channels.get(channel_id)
    if channel is None:
        elsewhere = (
            await uow.session.execute(
                select(GuildChannel.guild_id)
                .where(GuildChannel.id == channel_id, GuildChannel.guild_id != catalog.guild_id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if elsewhere is not None:
            raise BadChannel(
                f"Channel {channel_id} belongs to another server.",
                code="channel_of_other_guild",
                setting=setting,
                channel_id=channel_id,
            )
        if catalog.synced:
            raise BadChannel(
                f"Channel {channel_id} is not a channel of this server.",
                code="unknown_channel",
                setting=setting,
                channel_id=channel_id,
            )
        return
    if channel.deleted:
        raise BadChannel(
            f"#{channel.name} was deleted.",
            code="unknown_channel",
            setting=setting,
            channel_id=channel_id,
        )
    if not channel.postable:
        raise BadChannel(
            f"#{channel.name} is not a text channel: the bot cannot post there.",
            code="not_a_text_channel",
            setting=setting,
            channel_id=channel_id,
        )


def check_role(catalog: Catalog, role_id: str, *, setting: str, grant: bool) -> None:
    """Refuse a role this guild does not have; with ``grant``, one the bot cannot give."""
    if role_id == catalog.guild_id:
        raise BadRole(role_id, setting=setting, why="everyone")
    role = catalog.roles.get(role_id)
    if role is None:
        if catalog.synced:
            raise BadRole(role_id, setting=setting, why="unknown")
        return
    if role.deleted:
        raise BadRole(role_id, setting=setting, why="deleted")
    if grant and not role.assignable:
        raise RoleNotAssignable(role.id, role.name, setting=setting, managed=role.managed)


async def check_assignable_role(
    uow: UnitOfWork, guild_id: str, role_id: str, *, setting: str = "role_id"
) -> None:
    """A role the bot will grant (a squad's, a reward): it must exist and be below the bot's."""
    check_role(await load_catalog(uow, guild_id), role_id, setting=setting, grant=True)
