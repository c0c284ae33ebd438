"""Building and running the bot: hikari GatewayBot + lightbulb client + our listeners.

The bot never touches the database: everything goes through ``GuildbankClient``. Only the
process running shard 0 syncs application commands, so scaled-out bots don't race on it.
Each process runs an outbox worker for its own shards (``outbox/worker.py``): the Discord side
effects of stored changes, with a REST client of its own that leaves retries and long rate
limits to the outbox (durable, visible on the Sync page) instead of hikari's in-memory ones.
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
from guildbank.features.announcements.listeners import AnnouncementsBotSide
from guildbank.features.economy.listeners import DailyListener, MemberListeners
from guildbank.features.economy.roles import RoleReconciler
from guildbank.features.guilds.listeners import GuildListeners
from guildbank.outbox.client import OutboxClient
from guildbank.outbox.executor import Executor
from guildbank.outbox.worker import OutboxWorker
from guildbank.runtime.client import GuildbankClient
from guildbank.runtime.registry import FEATURES

__all__ = ["INTENTS", "BotConfigError", "GuildbankBot", "check_token", "create_bot"]

INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS | hikari.Intents.GUILD_MESSAGES
# The bot never reads messages back: caching each one would cost more than handling it.
CACHED = hikari.api.CacheComponents.ALL & ~hikari.api.CacheComponents.MESSAGES
# The worker's REST client: Discord rate limits longer than this release the job back to the
# outbox with Discord's retry_after instead of holding a worker slot.
WORKER_MAX_RATE_LIMIT = 10.0
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
    # How long the worker's lease request waits for work (0: no outbox worker at all).
    outbox_wait_seconds: float = 8.0
    # What the worker's own REST client needs (the bot's token and Discord's URL).
    token: str = field(default="", repr=False)
    rest_url: str | None = None
    outbox: OutboxWorker | None = field(default=None, init=False)
    # Custom commands, presence, restarts, orphans (features/announcements/listeners.py).
    announcements: AnnouncementsBotSide | None = field(default=None, init=False)
    _worker_rest: tuple[hikari.RESTApp, hikari.impl.RESTClientImpl] | None = field(
        default=None, init=False, repr=False
    )
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
        if self.outbox_wait_seconds > 0:
            await self._start_outbox()
        if self.role_reconcile_minutes > 0:
            self._reconciling = asyncio.create_task(
                self._reconcile_periodically(), name="guildbank role reconcile"
            )

    async def _start_outbox(self) -> None:
        """The outbox worker for the shards this process runs."""
        app = hikari.RESTApp(max_retries=0, max_rate_limit=WORKER_MAX_RATE_LIMIT, url=self.rest_url)
        await app.start()
        rest = app.acquire(self.token, hikari.TokenType.BOT)
        rest.start()
        self._worker_rest = (app, rest)
        api = self.state.api
        assert isinstance(api, OutboxClient)
        self.outbox = OutboxWorker(
            api,
            Executor(rest, self.bot.cache),
            shard_ids=sorted(self.bot.shards) or [0],
            shard_count=self.bot.shard_count or 1,
            wait_seconds=self.outbox_wait_seconds,
        )
        self.outbox.start()

    async def _stop_outbox(self) -> None:
        if self.outbox is not None:
            await self.outbox.close()
            self.outbox = None
        if self._worker_rest is not None:
            app, rest = self._worker_rest
            self._worker_rest = None
            await rest.close()
            await app.close()

    async def _reconcile_periodically(self) -> None:
        """Grant reward roles members earned meanwhile, in every cached guild, on a timer."""
        while True:
            await asyncio.sleep(self.role_reconcile_minutes * 60)
            await self.roles.reconcile_cached_guilds()

    async def close(self) -> None:
        await self._stop_outbox()
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
    outbox_wait_seconds: float = 8.0,
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
    announcing = AnnouncementsBotSide(state, bot, commands=client)
    announcing.subscribe(bot)  # its sync loop runs from StartedEvent to StoppingEvent
    built = GuildbankBot(
        bot,
        client,
        state,
        daily,
        roles,
        role_reconcile_minutes,
        outbox_wait_seconds=outbox_wait_seconds,
        token=token,
        rest_url=rest_url,
    )
    built.announcements = announcing
    return built
