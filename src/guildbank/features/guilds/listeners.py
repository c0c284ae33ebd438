"""Guild presence: every guild the bot can see is registered with the API.

On startup (guild available) and on joining, the guild is registered (idempotent, so every
shard and restart may do it), then the hooks other features gave run for it, e.g. the
economy granting reward roles earned while the bot was away. The hooks keep the guilds
feature from knowing the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import hikari
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError

__all__ = ["GuildListeners", "GuildRegistered"]

log = structlog.get_logger(__name__)
GuildRegistered = Callable[[str], Awaitable[None]]  # called with the guild id


class GuildListeners:
    """Registers guilds as the bot sees them, then runs ``on_registered`` for each."""

    def __init__(self, state: BotState, *, on_registered: Sequence[GuildRegistered] = ()) -> None:
        self.state = state
        self.on_registered = tuple(on_registered)

    def subscribe(self, bot: hikari.GatewayBot) -> None:
        bot.subscribe(hikari.GuildAvailableEvent, self.on_guild)
        bot.subscribe(hikari.GuildJoinEvent, self.on_guild)

    async def on_guild(self, event: hikari.GuildAvailableEvent | hikari.GuildJoinEvent) -> None:
        guild_id = str(event.guild_id)
        try:
            await self.state.api.register_guild(guild_id, event.guild.name)
        except ApiError as error:
            log.error("could not register guild", guild_id=guild_id, detail=error.detail)
            return
        for hook in self.on_registered:
            await hook(guild_id)
