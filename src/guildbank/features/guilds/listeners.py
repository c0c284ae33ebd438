"""Guild presence and metadata: every guild the bot can see is registered with the API, and
its channels and roles are reported, so the dashboard names them and refuses bad ids.

On startup (guild available) and on joining, the guild is registered (idempotent, so every
shard and restart may do it), its full channel and role lists are reported (a replacement:
what is gone is marked deleted), then the hooks other features gave run for it, e.g. the
economy granting reward roles earned while the bot was away. The hooks keep the guilds
feature from knowing the others. After that, each channel or role event is reported as it
comes, and a change of the bot's own roles (which bounds the roles it can grant) re-reports
the guild from the cache. A failed report is logged; the next start reports everything again.
Reports of one guild are sent one at a time, in the order the gateway delivered the events
(a role created then deleted at once must not be revived by a late upsert).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import hikari
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.guilds.client import GuildsClient
from guildbank.features.guilds.schemas import ChannelIn, GuildMetadataIn, RoleIn

__all__ = ["GuildListeners", "GuildRegistered", "channel_in", "role_in"]

log = structlog.get_logger(__name__)
GuildRegistered = Callable[[str], Awaitable[None]]  # called with the guild id
GuildEvent = hikari.GuildAvailableEvent | hikari.GuildJoinEvent


def channel_in(channel: hikari.PermissibleGuildChannel) -> ChannelIn:
    return ChannelIn(
        id=str(channel.id),
        name=channel.name or str(channel.id),
        type=int(channel.type),
        position=channel.position,
        parent_id=str(channel.parent_id) if channel.parent_id else None,
    )


def role_in(role: hikari.Role, bot_roles: Iterable[hikari.Snowflake]) -> RoleIn:
    return RoleIn(
        id=str(role.id),
        name=role.name,
        position=role.position,
        color=int(role.color),
        managed=role.is_managed,
        bot_holds=role.id in set(bot_roles),
    )


def _snapshot(
    channels: Mapping[hikari.Snowflake, hikari.PermissibleGuildChannel],
    roles: Mapping[hikari.Snowflake, hikari.Role],
    bot_roles: Sequence[hikari.Snowflake],
) -> GuildMetadataIn:
    return GuildMetadataIn(
        channels=[channel_in(c) for c in channels.values()],
        roles=[role_in(r, bot_roles) for r in roles.values()],
    )


class GuildListeners:
    """Registers guilds as the bot sees them, reports their channels and roles, then runs
    ``on_registered`` for each."""

    def __init__(self, state: BotState, *, on_registered: Sequence[GuildRegistered] = ()) -> None:
        self.state = state
        self.on_registered = tuple(on_registered)
        self.bot: hikari.GatewayBot | None = None
        # One lock per guild: handlers take it before their first await, so in event order.
        self._in_order: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def api(self) -> GuildsClient:
        return self.state.api

    def subscribe(self, bot: hikari.GatewayBot) -> None:
        self.bot = bot
        bot.subscribe(hikari.GuildAvailableEvent, self.on_guild)
        bot.subscribe(hikari.GuildJoinEvent, self.on_guild)
        bot.subscribe(hikari.GuildChannelCreateEvent, self.on_channel)
        bot.subscribe(hikari.GuildChannelUpdateEvent, self.on_channel)
        bot.subscribe(hikari.GuildChannelDeleteEvent, self.on_channel_delete)
        bot.subscribe(hikari.RoleCreateEvent, self.on_role)
        bot.subscribe(hikari.RoleUpdateEvent, self.on_role)
        bot.subscribe(hikari.RoleDeleteEvent, self.on_role_delete)
        bot.subscribe(hikari.MemberUpdateEvent, self.on_member_update)

    def _my_roles(self, guild_id: hikari.Snowflake) -> Sequence[hikari.Snowflake]:
        """The role ids of the bot's own member in the guild (from the cache)."""
        me = self.bot.get_me() if self.bot is not None else None
        member = self.bot.cache.get_member(guild_id, me.id) if self.bot and me else None
        return member.role_ids if member is not None else ()

    async def on_guild(self, event: GuildEvent) -> None:
        guild_id = str(event.guild_id)
        me = self.bot.get_me() if self.bot is not None else None
        member = event.members.get(me.id) if me is not None else None
        bot_roles = member.role_ids if member is not None else self._my_roles(event.guild_id)
        metadata = _snapshot(event.channels, event.roles, bot_roles)
        async with self._in_order[guild_id]:  # events that follow report after this
            try:
                await self.api.register_guild(guild_id, event.guild.name)
            except ApiError as error:
                log.error("could not register guild", guild_id=guild_id, detail=error.detail)
                return
            await self._send(guild_id, self.api.report_metadata(guild_id, metadata))
        for hook in self.on_registered:
            await hook(guild_id)

    async def _send(self, guild_id: str, call: Awaitable[None]) -> None:
        try:
            await call
        except ApiError as error:
            log.warning(
                "could not report guild metadata",
                guild_id=guild_id,
                code=error.code,
                detail=error.detail,
            )

    async def _reported(self, guild_id: str, call: Awaitable[None]) -> None:
        async with self._in_order[guild_id]:
            await self._send(guild_id, call)

    async def on_channel(
        self, event: hikari.GuildChannelCreateEvent | hikari.GuildChannelUpdateEvent
    ) -> None:
        guild_id = str(event.guild_id)
        await self._reported(guild_id, self.api.report_channel(guild_id, channel_in(event.channel)))

    async def on_channel_delete(self, event: hikari.GuildChannelDeleteEvent) -> None:
        guild_id = str(event.guild_id)
        await self._reported(
            guild_id, self.api.report_channel_deleted(guild_id, str(event.channel.id))
        )

    async def on_role(self, event: hikari.RoleCreateEvent | hikari.RoleUpdateEvent) -> None:
        guild_id = str(event.guild_id)
        role = role_in(event.role, self._my_roles(event.guild_id))
        await self._reported(guild_id, self.api.report_role(guild_id, role))

    async def on_role_delete(self, event: hikari.RoleDeleteEvent) -> None:
        guild_id = str(event.guild_id)
        await self._reported(guild_id, self.api.report_role_deleted(guild_id, str(event.role_id)))

    async def on_member_update(self, event: hikari.MemberUpdateEvent) -> None:
        """The bot's own roles changed: which roles it may grant changed with them."""
        bot = self.bot
        me = bot.get_me() if bot is not None else None
        if bot is None or me is None or event.user_id != me.id:
            return
        old = event.old_member
        if old is not None and set(old.role_ids) == set(event.member.role_ids):
            return
        guild_id = str(event.guild_id)
        metadata = _snapshot(
            bot.cache.get_guild_channels_view_for_guild(event.guild_id),
            bot.cache.get_roles_view_for_guild(event.guild_id),
            event.member.role_ids,
        )
        await self._reported(guild_id, self.api.report_metadata(guild_id, metadata))
