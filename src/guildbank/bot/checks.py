"""Command checks: guild-only everywhere, economy admins for ``/economy``."""

from __future__ import annotations

import hikari
import lightbulb

from guildbank.bot.state import BotState

__all__ = ["IN_GUILDS", "GuildOnly", "NotEconomyAdmin", "economy_admin", "guild_only"]

ADMIN_PERMISSIONS = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
# Where commands are offered: servers only, so Discord never shows them in DMs.
IN_GUILDS = [hikari.ApplicationContextType.GUILD]


class GuildOnly(Exception):
    """A command was used in a DM."""


class NotEconomyAdmin(Exception):
    """The member may not manage the economy."""


@lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, name="guild_only")
def guild_only(_: lightbulb.ExecutionPipeline, ctx: lightbulb.Context) -> None:
    if ctx.guild_id is None or ctx.member is None:
        raise GuildOnly


@lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, skip_when_failed=True, name="economy_admin")
async def economy_admin(
    _: lightbulb.ExecutionPipeline, ctx: lightbulb.Context, state: BotState
) -> None:
    """Server owner, Administrator or Manage Server (interaction permissions include the owner),
    or a member holding one of the guild's admin roles (from the cached guild config)."""
    member = ctx.member
    if member is None or ctx.guild_id is None:
        raise NotEconomyAdmin
    if member.permissions & ADMIN_PERMISSIONS:
        return
    admin_roles = (await state.config(str(ctx.guild_id))).admin_role_ids
    if not admin_roles or not {str(r) for r in member.role_ids} & set(admin_roles):
        raise NotEconomyAdmin
