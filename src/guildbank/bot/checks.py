"""Command checks: guild-only everywhere, economy admins for ``/economy``."""

from __future__ import annotations

import hikari
import lightbulb

__all__ = ["GuildOnly", "NotEconomyAdmin", "economy_admin", "guild_only"]

ADMIN_PERMISSIONS = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR


class GuildOnly(Exception):
    """A command was used in a DM."""


class NotEconomyAdmin(Exception):
    """The member may not manage the economy."""


@lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, name="guild_only")
def guild_only(_: lightbulb.ExecutionPipeline, ctx: lightbulb.Context) -> None:
    if ctx.guild_id is None or ctx.member is None:
        raise GuildOnly


@lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, skip_when_failed=True, name="economy_admin")
def economy_admin(_: lightbulb.ExecutionPipeline, ctx: lightbulb.Context) -> None:
    """Server owner, Administrator or Manage Server (interaction permissions include the owner)."""
    member = ctx.member
    if member is None or not member.permissions & ADMIN_PERMISSIONS:
        raise NotEconomyAdmin
