"""Command checks: every command runs inside a server with its feature turned on there, and
some need a permission level (owner > admin > moderator > member, ``guilds.permissions``).

Which feature a command belongs to is declared by the feature's commands module with
``toggled_by``; ``guild_only``, the hook every command runs, refuses the command while the
guild has that feature off (the API refuses its routes too: 409 ``feature_disabled``).
Levels come from the interaction (Discord computes the member's permissions, the owner's
included) and the guild's cached admin and moderator roles.
"""

from __future__ import annotations

from collections.abc import Callable

import hikari
import lightbulb

from guildbank.bot.state import BotState
from guildbank.features.guilds.permissions import Level, level_of
from guildbank.features.guilds.rules import FEATURE_TOGGLES
from guildbank.features.guilds.schemas import ConfigOut

__all__ = [
    "IN_GUILDS",
    "FeatureOff",
    "GuildOnly",
    "MissingLevel",
    "NotEconomyAdmin",
    "economy_admin",
    "guild_only",
    "member_level",
    "moderator",
    "requires",
    "toggled_by",
]

ADMIN_PERMISSIONS = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
# Where commands are offered: servers only, so Discord never shows them in DMs.
IN_GUILDS = [hikari.ApplicationContextType.GUILD]
# Top-level command name -> the feature toggle it belongs to (filled by ``toggled_by``).
_FEATURE_OF: dict[str, str] = {}


class GuildOnly(Exception):
    """A command was used in a DM."""


class FeatureOff(Exception):
    """The guild turned the command's feature off."""

    def __init__(self, feature: str) -> None:
        super().__init__(feature)
        self.feature = feature


class MissingLevel(Exception):
    """The member's permission level is below what the command needs."""

    def __init__(self, needed: Level) -> None:
        super().__init__(needed.label)
        self.needed = needed


class NotEconomyAdmin(MissingLevel):
    """The member may not manage the economy (below admin)."""

    def __init__(self) -> None:
        super().__init__(Level.ADMIN)


def toggled_by(feature: str, *commands: str) -> None:
    """Declare that these top-level commands (slash groups, commands, context menus) belong
    to ``feature``: they answer "disabled on this server" while the guild has it off."""
    if feature not in FEATURE_TOGGLES:
        msg = f"unknown feature toggle {feature!r}"
        raise ValueError(msg)
    _FEATURE_OF.update(dict.fromkeys(commands, feature))


@lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, name="guild_only")
async def guild_only(
    _: lightbulb.ExecutionPipeline, ctx: lightbulb.Context, state: BotState
) -> None:
    """Every command's gate: used inside a server, and its feature (if any) on there."""
    if ctx.guild_id is None or ctx.member is None:
        raise GuildOnly
    root = ctx.command_data.qualified_name.split(" ", 1)[0]
    feature = _FEATURE_OF.get(root) or _FEATURE_OF.get(ctx.command_data.qualified_name)
    if feature is not None and not (await state.config(str(ctx.guild_id))).features.get(
        feature, True
    ):
        raise FeatureOff(feature)


def member_level(ctx: lightbulb.Context, config: ConfigOut) -> Level:
    """The invoking member's level in the guild (Member if the command came from a DM)."""
    member = ctx.member
    if member is None or ctx.guild_id is None:
        return Level.MEMBER
    guild = ctx.interaction.get_guild()
    return level_of(
        is_owner=guild is not None and guild.owner_id == member.id,
        manages_server=bool(member.permissions & ADMIN_PERMISSIONS),
        role_ids=[str(r) for r in member.role_ids],
        admin_roles=config.admin_role_ids,
        moderator_roles=config.moderator_role_ids,
    )


def requires(
    level: Level, *, name: str, refusal: Callable[[], MissingLevel] | None = None
) -> lightbulb.ExecutionHook:
    """A check admitting members at ``level`` or above (``refusal`` makes the error)."""
    refuse = refusal or (lambda: MissingLevel(level))

    @lightbulb.hook(lightbulb.ExecutionSteps.CHECKS, skip_when_failed=True, name=name)
    async def check(
        _: lightbulb.ExecutionPipeline, ctx: lightbulb.Context, state: BotState
    ) -> None:
        if ctx.member is None or ctx.guild_id is None:
            raise refuse()
        # Discord's permissions settle admins without asking the API for the guild's roles.
        if level <= Level.ADMIN and ctx.member.permissions & ADMIN_PERMISSIONS:
            return
        if member_level(ctx, await state.config(str(ctx.guild_id))) < level:
            raise refuse()

    return check


# Server owner, Administrator or Manage Server (interaction permissions include the owner),
# or a member holding one of the guild's admin roles (from the cached guild config).
economy_admin = requires(Level.ADMIN, name="economy_admin", refusal=NotEconomyAdmin)
# Moderators and everyone above them.
moderator = requires(Level.MODERATOR, name="moderator")
