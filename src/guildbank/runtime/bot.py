"""Building and running the bot: hikari GatewayBot + lightbulb client + our listeners.

The bot never touches the database: everything goes through ``GuildbankClient``. Only the
process running shard 0 syncs application commands, so scaled-out bots don't race on it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from dataclasses import dataclass, field

import hikari
import lightbulb
import structlog

from guildbank.bot.checks import guild_only
from guildbank.bot.errors import handle_command_error
from guildbank.bot.state import BotState
from guildbank.features.economy.listeners import DailyListener, MemberListeners
from guildbank.features.economy.roles import RoleReconciler
from guildbank.features.guilds.listeners import GuildListeners
from guildbank.runtime.client import GuildbankClient
from guildbank.runtime.registry import FEATURES

__all__ = ["INTENTS", "BotConfigError", "GuildbankBot", "check_token", "create_bot"]

INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS | hikari.Intents.GUILD_MESSAGES
# The bot never reads messages back: caching each one would cost more than handling it.
CACHED = hikari.api.CacheComponents.ALL & ~hikari.api.CacheComponents.MESSAGES
log = structlog.get_logger(__name__)


class BotConfigError(Exception):
    """The bot cannot start with this configuration (told to the operator, then exit)."""


def check_token(token: str) -> None:
    """Fail fast on a missing or malformed token, before any network call."""
    if not token:
        msg = "GUILDBANK_DISCORD_TOKEN is not set: the bot needs a Discord bot token"
        raise BotConfigError(msg)
    first = token.split(".", 1)[0]
    try:
        application_id = base64.b64decode(first + "=" * (-len(first) % 4), validate=False)
    except (binascii.Error, ValueError) as error:
        msg = "GUILDBANK_DISCORD_TOKEN is malformed (expected a Discord bot token)"
        raise BotConfigError(msg) from error
    if token.count(".") != 2 or not application_id.decode("ascii", "replace").isdigit():
        msg = "GUILDBANK_DISCORD_TOKEN is malformed (expected a Discord bot token)"
        raise BotConfigError(msg)


@dataclass
class GuildbankBot:
    """The running pieces, kept together so callers (CLI, tests, benchmarks) can drive them."""

    bot: hikari.GatewayBot
    client: lightbulb.GatewayEnabledClient
    state: BotState
    daily: DailyListener
    roles: RoleReconciler
    # Minutes between reconciles of reward roles in every cached guild; 0 = only on startup.
    role_reconcile_minutes: float = 60.0
    _reconciling: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(
        self, *, shard_ids: list[int] | None = None, shard_count: int | None = None
    ) -> None:
        try:
            await self.bot.start(
                check_for_updates=False, shard_ids=shard_ids, shard_count=shard_count
            )
        except Exception as error:
            await self.close()  # a half-started bot holds HTTP sessions: release them
            if isinstance(error, hikari.UnauthorizedError):
                msg = "Discord refused GUILDBANK_DISCORD_TOKEN (401 Unauthorized): check the token"
                raise BotConfigError(msg) from error
            raise
        if self.role_reconcile_minutes > 0:
            self._reconciling = asyncio.create_task(
                self._reconcile_periodically(), name="guildbank role reconcile"
            )

    async def _reconcile_periodically(self) -> None:
        """Grant reward roles members earned meanwhile, in every cached guild, on a timer."""
        while True:
            await asyncio.sleep(self.role_reconcile_minutes * 60)
            await self.roles.reconcile_cached_guilds()

    async def close(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciling
            self._reconciling = None
        if self.bot.is_alive:
            await self.bot.close()
        await self.state.api.aclose()


async def create_bot(
    token: str,
    api: GuildbankClient,
    *,
    rest_url: str | None = None,
    command_guilds: list[int] | None = None,
    sync_commands: bool = True,
    role_reconcile_minutes: float = 60.0,
) -> GuildbankBot:
    check_token(token)
    bot = hikari.GatewayBot(
        token,
        intents=INTENTS,
        rest_url=rest_url,
        banner=None,
        logs=None,
        cache_settings=hikari.impl.CacheSettings(components=CACHED),
    )
    client = lightbulb.client_from_app(
        bot,
        default_enabled_guilds=command_guilds or (),
        hooks=[guild_only],
        sync_commands=sync_commands,
    )
    state = BotState(api)
    client.di.registry_for(lightbulb.di.Contexts.DEFAULT).register_value(BotState, state)
    client.error_handler(handle_command_error)
    for feature in FEATURES:
        for loader in feature.command_loaders():
            await loader.add_to_client(client)
    bot.subscribe(hikari.StartingEvent, client.start)
    daily = DailyListener(state, bot.rest)
    roles = RoleReconciler(state, bot)
    daily.subscribe(bot)
    MemberListeners(state).subscribe(bot)
    GuildListeners(state, on_registered=[roles.reconcile_logged]).subscribe(bot)
    return GuildbankBot(bot, client, state, daily, roles, role_reconcile_minutes)
