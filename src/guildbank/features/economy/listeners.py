"""Gateway listeners: the daily reward on a member's first message, members leaving and back.

The message listener is the hot path of a busy server: a member who already claimed today
is answered from the per-process memo without any API call, and a burst of messages from
one member makes at most one call at a time.
"""

from __future__ import annotations

from datetime import date

import hikari
import structlog

from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.economy.client import EconomyClient

__all__ = ["CLAIMED_REACTION", "DailyListener", "MemberListeners"]

log = structlog.get_logger(__name__)
CLAIMED_REACTION = "✅"
Snowflake = hikari.Snowflakeish | str  # ids straight from the gateway JSON are strings


class DailyListener:
    """Awards the daily reward silently (plus a reaction) on the first message of the day.

    ``subscribe`` listens with ``on_payload``: it reads MESSAGE_CREATE straight from the
    gateway JSON, so hikari builds no message, member or user objects for the (vast
    majority of) messages that need nothing. ``on_message`` does the same from a typed event.
    """

    def __init__(self, state: BotState, rest: hikari.api.RESTClient) -> None:
        self.state = state
        self.rest = rest
        self._in_flight: set[tuple[str, str]] = set()
        self.api_calls = 0

    def subscribe(self, bot: hikari.GatewayBot) -> None:
        bot.subscribe(hikari.ShardPayloadEvent, self.on_payload)

    async def on_payload(self, event: hikari.ShardPayloadEvent) -> None:
        if event.name != "MESSAGE_CREATE":
            return
        payload = event.payload
        guild = payload.get("guild_id")
        author = payload.get("author")
        # Humans only, as hikari's ``is_human``: not a bot, not a webhook (nor a DM).
        if guild is None or not author or author.get("bot") or payload.get("webhook_id"):
            return
        await self.seen(guild, author["id"], payload["channel_id"], payload["id"])

    async def on_message(self, event: hikari.GuildMessageCreateEvent) -> None:
        if event.is_human:
            await self.seen(
                str(event.guild_id), str(event.author_id), event.channel_id, event.message_id
            )

    async def seen(self, guild: str, user: str, channel: Snowflake, message: Snowflake) -> None:
        """A member wrote in a guild: claim their daily unless they already have today."""
        state = self.state
        try:
            config = await state.config(guild)
        except ApiError as error:
            log.warning(
                "daily listener could not read the guild settings",
                guild_id=guild,
                code=error.code,
                detail=error.detail,
            )
            return
        if not config.features.get("economy", True):
            return  # the guild turned the economy off: no dailies
        today = state.today(config)
        if state.memo.has(guild, today, user) or (guild, user) in self._in_flight:
            return
        self._in_flight.add((guild, user))
        try:
            await self._claim(guild, user, today, channel, message)
        finally:
            self._in_flight.discard((guild, user))

    async def _claim(
        self,
        guild: str,
        user: str,
        today: date,
        channel: Snowflake,
        message: Snowflake,
    ) -> None:
        self.api_calls += 1
        try:
            await self.state.client(EconomyClient).claim_daily(
                guild, user, idempotency_key=f"daily-message:{message}"
            )
        except ApiError as error:
            if error.code == "already_claimed":
                self.state.memo.add(guild, today, user)
            else:
                log.warning(
                    "daily listener could not claim",
                    guild_id=guild,
                    user_id=user,
                    code=error.code,
                    detail=error.detail,
                )
            return
        self.state.memo.add(guild, today, user)  # the day the memo is checked against
        try:
            await self.rest.add_reaction(int(channel), int(message), CLAIMED_REACTION)
        except hikari.HTTPError as error:
            log.info("could not react to the daily message", error=str(error))
        # Reward roles the claim earned were queued with it (outbox): the worker grants them.


class MemberListeners:
    """Leaving hides a member's account (leaderboards skip it); rejoining shows it again."""

    def __init__(self, state: BotState) -> None:
        self.state = state

    def subscribe(self, bot: hikari.GatewayBot) -> None:
        bot.subscribe(hikari.MemberDeleteEvent, self.on_member_leave)
        bot.subscribe(hikari.MemberCreateEvent, self.on_member_join)

    async def on_member_leave(self, event: hikari.MemberDeleteEvent) -> None:
        await self._set_active(event.guild_id, event.user_id, active=False)

    async def on_member_join(self, event: hikari.MemberCreateEvent) -> None:
        if not event.member.is_bot:
            await self._set_active(
                event.guild_id, event.user_id, active=True, name=event.member.display_name
            )

    async def _set_active(
        self,
        guild_id: hikari.Snowflake,
        user_id: hikari.Snowflake,
        *,
        active: bool,
        name: str | None = None,
    ) -> None:
        try:
            await self.state.client(EconomyClient).set_member_active(
                str(guild_id), str(user_id), active, display_name=name
            )
        except ApiError as error:
            log.warning(
                "could not record member presence",
                guild_id=str(guild_id),
                user_id=str(user_id),
                detail=error.detail,
            )
