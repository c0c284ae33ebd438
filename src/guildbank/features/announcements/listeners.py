"""The bot side of announcements: custom commands registered per guild and answered, the
presence applied, restarts, and announcements whose message was deleted in Discord.

One loop per bot process long-polls ``POST /api/bot/sync`` (its heartbeat too): it answers
at once when the presence, the restart version or a guild's custom commands differ from
what this process applied, else when one changes (any web process: the event bus), so every
bot applies a change within seconds. Custom commands are registered as guild slash commands
when a guild becomes available and again whenever their version moves; the bot's own
commands (``rules.BUILT_IN_COMMANDS``) are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
from datetime import UTC, datetime
from typing import Any

import hikari
import lightbulb
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError, ApiUnavailable
from guildbank.features.announcements.client import AnnouncementsClient
from guildbank.features.announcements.rules import BUILT_IN_COMMANDS
from guildbank.features.announcements.schemas import CustomCommandOut, PresenceOut

__all__ = ["AnnouncementsBotSide", "presence_of"]

log = structlog.get_logger(__name__)
# A close code Discord does not end the session for: hikari reconnects and RESUMEs.
RESUMABLE_CLOSE = 4000
STATUSES = {
    "online": hikari.Status.ONLINE,
    "idle": hikari.Status.IDLE,
    "dnd": hikari.Status.DO_NOT_DISTURB,
    "invisible": hikari.Status.OFFLINE,
}
ACTIVITIES = {
    "playing": hikari.ActivityType.PLAYING,
    "listening": hikari.ActivityType.LISTENING,
    "watching": hikari.ActivityType.WATCHING,
    "competing": hikari.ActivityType.COMPETING,
    "custom": hikari.ActivityType.CUSTOM,
}


def presence_of(presence: PresenceOut) -> tuple[hikari.Status, hikari.Activity | None]:
    """The stored presence as hikari's status and activity."""
    activity = None
    if presence.activity_type is not None and presence.activity_text:
        kind = ACTIVITIES[presence.activity_type]
        activity = (
            hikari.Activity(name="Custom Status", state=presence.activity_text, type=kind)
            if kind is hikari.ActivityType.CUSTOM
            else hikari.Activity(name=presence.activity_text, type=kind)
        )
    return STATUSES[presence.status], activity


class AnnouncementsBotSide:
    """Per bot process: the sync loop and the listeners (``subscribe``, ``start``, ``close``)."""

    def __init__(
        self,
        state: BotState,
        bot: hikari.GatewayBot,
        *,
        commands: lightbulb.Client | None = None,
        wait_seconds: float = 8.0,
    ) -> None:
        self.api = state.client(AnnouncementsClient)
        self.bot = bot
        # The bot's own commands (lightbulb's), never touched when registering custom ones.
        self.lightbulb = commands
        self.wait_seconds = wait_seconds
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"
        self.started_at = datetime.now(UTC)
        self.presence_version = -1  # nothing applied yet: the first answer is applied
        self.restart_version: int | None = None
        self.versions: dict[str, int] = {}
        self.commands: dict[str, dict[str, CustomCommandOut]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()  # set after each applied answer (tests wait on it)

    def subscribe(self, bot: hikari.GatewayBot) -> None:
        bot.subscribe(hikari.GuildAvailableEvent, self.on_guild_available)
        bot.subscribe(hikari.GuildJoinEvent, self.on_guild_available)
        bot.subscribe(hikari.InteractionCreateEvent, self.on_interaction)
        bot.subscribe(hikari.GuildMessageDeleteEvent, self.on_message_delete)
        bot.subscribe(hikari.StartedEvent, self.on_started)
        bot.subscribe(hikari.StoppingEvent, self.on_stopping)

    async def on_started(self, _event: hikari.StartedEvent) -> None:
        self.start()

    async def on_stopping(self, _event: hikari.StoppingEvent) -> None:
        await self.close()

    # --- custom commands ---------------------------------------------------------------------

    async def on_guild_available(self, event: hikari.GuildAvailableEvent) -> None:
        await self.register(str(event.guild_id))

    async def register(self, guild_id: str) -> None:
        """Make the guild's slash commands match its custom commands (ours only)."""
        async with self._locks.setdefault(guild_id, asyncio.Lock()):
            try:
                wanted = await self.api.custom_commands(guild_id)
            except ApiError as error:  # the feature is off, or the guild unknown: none
                log.info("no custom commands", guild_id=guild_id, code=error.code)
                return
            except ApiUnavailable as error:
                log.warning("custom commands not loaded", guild_id=guild_id, error=str(error))
                return
            try:
                await self._apply(guild_id, {c.name: c for c in wanted.commands})
            except hikari.HTTPError as error:
                log.warning("custom commands not registered", guild_id=guild_id, error=repr(error))
                return
            self.commands[guild_id] = {c.name: c for c in wanted.commands}
            self.versions[guild_id] = wanted.version

    async def _apply(self, guild_id: str, wanted: dict[str, CustomCommandOut]) -> None:
        application = await self.bot.rest.fetch_application()
        guild = int(guild_id)
        existing = [
            c
            for c in await self.bot.rest.fetch_application_commands(application.id, guild)
            if c.type is hikari.CommandType.SLASH and c.name not in self.own_commands()
        ]
        for command in existing:
            if command.name not in wanted:
                await self.bot.rest.delete_application_command(application.id, command.id, guild)
        have = {c.name: getattr(c, "description", None) for c in existing}
        for name, wanted_command in wanted.items():
            if have.get(name) != wanted_command.description:
                await self.bot.rest.create_slash_command(
                    application.id, name, wanted_command.description, guild=guild
                )

    def own_commands(self) -> set[str]:
        """Top-level names of the bot's own commands (as loaded now, and the known list)."""
        names = set(BUILT_IN_COMMANDS)
        if self.lightbulb is not None:
            for mapping in self.lightbulb.invokable_commands.values():
                names.update(path[0] for path in mapping)
        return names

    async def on_interaction(self, event: hikari.InteractionCreateEvent) -> None:
        interaction = event.interaction
        if not isinstance(interaction, hikari.CommandInteraction) or interaction.guild_id is None:
            return
        if interaction.command_type is not hikari.CommandType.SLASH:
            return
        command = self.commands.get(str(interaction.guild_id), {}).get(interaction.command_name)
        if command is None:
            return  # a built-in command: lightbulb answers it
        embeds = [self.bot.entity_factory.deserialize_embed(command.embed)] if command.embed else []
        await interaction.create_initial_response(
            hikari.ResponseType.MESSAGE_CREATE,
            command.response or hikari.UNDEFINED,
            embeds=embeds,
            mentions_everyone=False,
            user_mentions=False,
            role_mentions=False,
        )

    # --- orphaned announcements ----------------------------------------------------------------

    async def on_message_delete(self, event: hikari.GuildMessageDeleteEvent) -> None:
        """Tell the API; it flags the announcement the message showed (others: nothing).
        Flagging twice changes nothing, so the report needs no Idempotency-Key."""
        if event.old_message is not None and not event.old_message.author.is_bot:
            return  # only the bot's own messages can be announcements
        try:
            await self.api.report_deleted_message(
                str(event.guild_id),
                channel_id=str(event.channel_id),
                message_id=str(event.message_id),
            )
        except (ApiError, ApiUnavailable) as error:
            log.info("deleted message not reported", error=str(error))

    # --- presence, restarts, command versions: the sync loop ---------------------------------

    def _sync_body(self, wait: float) -> dict[str, Any]:
        latency = self.bot.heartbeat_latency
        return {
            "owner": self.owner,
            "shard_ids": sorted(self.bot.shards) or [0],
            "latency_ms": None if math.isnan(latency) else round(latency * 1000, 1),
            "guild_count": len(self.bot.cache.get_guilds_view()),
            "started_at": self.started_at.isoformat(),
            "presence_version": self.presence_version,
            "restart_version": self.restart_version,
            "command_versions": dict(self.versions),
            "wait_seconds": wait,
        }

    async def sync_once(self, wait: float = 0.0) -> None:
        answer = await self.api.bot_sync(self._sync_body(wait))
        if answer.presence.version != self.presence_version:
            status, activity = presence_of(answer.presence)
            await self.bot.update_presence(status=status, activity=activity)
            self.presence_version = answer.presence.version
            log.info("presence applied", status=answer.presence.status)
        if self.restart_version is None:
            self.restart_version = answer.restart_version  # requests from now on count
        elif answer.restart_version != self.restart_version:
            self.restart_version = answer.restart_version
            await self.reconnect()
        for guild_id in answer.command_guilds:
            await self.register(guild_id)
        self.synced.set()

    async def reconnect(self) -> None:
        """Reconnect this process's gateway shards (an operator's ``POST /api/bot/restart``).

        This uses hikari's private ``GatewayShardImpl._ws``, because no public call does it
        (read in hikari 2.6's ``impl/shard.py`` and ``impl/gateway_bot.py``):

        * ``shard.close()`` then ``shard.start()``: ``close()`` leaves ``_handshake_event``
          set and ``start()`` refuses a shard that has one (``ComponentStateConflictError``,
          "Cannot run more than one instance of one shard concurrently"); ``close()`` also
          sends GOING_AWAY, which ends the session instead of resuming it.
        * ``GatewayBot.close()`` then ``start()``: stops the whole bot (``StoppingEvent``
          closes this loop and the outbox worker, the cache is cleared) and makes
          ``GatewayBot.join()`` return, which ``runtime/runner.py`` reads as "the bot ended":
          the process would shut down rather than reconnect.

        Closing the websocket with a resumable code (4000) is, to hikari, a dropped connection:
        the shard's keep-alive loop connects again and RESUMEs, keeping the session, the cache
        and every task of this process. If a hikari upgrade takes ``_ws`` away, the restart
        says so in the log (and ``test_restart_reconnects_the_gateway_shards`` fails).
        """
        log.warning("restart requested: reconnecting gateway shards")
        shards = list(self.bot.shards.values())
        closed = 0
        for shard in shards:
            send_close = getattr(getattr(shard, "_ws", None), "send_close", None)
            if send_close is None:  # not connected right now (or hikari changed)
                continue
            try:
                await send_close(code=RESUMABLE_CLOSE, message=b"restart requested")
            except Exception as error:  # a connection dying meanwhile reconnects anyway
                log.info("shard websocket already closing", shard=shard.id, error=repr(error))
            closed += 1
        if shards and not closed:
            log.error(
                "restart not done: no shard has a websocket to close (disconnected, or a hikari "
                "version without GatewayShardImpl._ws)",
                hikari=hikari.__version__,
            )

    async def _run(self) -> None:
        while True:
            try:
                await self.sync_once(self.wait_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # logged; the API may be restarting: try again soon
                log.warning("bot sync failed; retrying", error=repr(error))
                await asyncio.sleep(1.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="guildbank bot sync")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
