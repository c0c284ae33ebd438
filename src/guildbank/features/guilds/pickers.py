"""What the dashboard's pickers offer: a server's channels and roles by name (``#general``,
``@Bankers``), from what the bot reported (``catalog``), else from Discord with the bot token.

Stale ids are named, not hidden: a setting that points at a deleted role reads "@Old name
(deleted)", one at an id nobody reported reads "unknown", and a role the bot could not grant
is marked. The templates' macros are in ``templates/pickers.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

from guildbank.features.guilds.catalog import load_catalog
from guildbank.features.guilds.schemas import ChannelOut, RoleOut
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx

__all__ = ["Picker", "picker_for"]


@dataclass(frozen=True, slots=True)
class Picker:
    """A server's roles and channels for forms; ``known_*`` include deleted ones."""

    roles: list[RoleOut]
    channels: list[ChannelOut]
    known_roles: dict[str, RoleOut]
    known_channels: dict[str, ChannelOut]
    # Whether names come from anywhere at all (else the forms take typed ids).
    has_roles: bool
    has_channels: bool

    def role_label(self, role_id: str) -> str:
        """The role as a form shows it: @Name, @Name (deleted), or its id (unknown role)."""
        role = self.known_roles.get(role_id)
        if role is None:
            return f"{role_id} (unknown role)"
        return f"@{role.name} (deleted)" if role.deleted else f"@{role.name}"

    def channel_label(self, channel_id: str) -> str:
        channel = self.known_channels.get(channel_id)
        if channel is None:
            return f"{channel_id} (unknown channel)"
        if channel.deleted:
            return f"#{channel.name} (deleted)"
        return f"#{channel.name}" if channel.postable else f"#{channel.name} (not a text channel)"


async def picker_for(ctx: Ctx) -> Picker:
    """The current server's picker: the bot's report when there is one, else Discord's roles
    (read with the bot token; no channels), else nothing (the forms take ids)."""
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        catalog = await load_catalog(uow, ctx.guild_id)
        await uow.commit()
    roles = catalog.live_roles()
    known_roles = dict(catalog.roles)
    if not catalog.roles:
        discord = await ctx.state.directory.roles(ctx.guild_id)
        roles = [
            RoleOut(
                id=r.id,
                name=r.name,
                position=r.position,
                color=r.color,
                managed=False,
                bot_holds=False,
                deleted=False,
                assignable=True,
            )
            for r in discord.values()
        ]
        known_roles = {r.id: r for r in roles}
    channels = catalog.live_channels()
    return Picker(
        roles=roles,
        channels=channels,
        known_roles=known_roles,
        known_channels=dict(catalog.channels),
        has_roles=bool(roles),
        has_channels=bool(channels),
    )
