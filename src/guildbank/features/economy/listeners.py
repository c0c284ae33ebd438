"""Gateway listeners: the daily reward on a member's first message, guild and member presence.

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
from guildbank.features.economy.roles import grant_roles

__all__ = ["DailyListener", "PresenceListeners"]

log = structlog.get_logger(__name__)
CLAIMED_REACTION = "✅"
Snowflake = hikari.Snowflakeish | str  # ids straight from the gateway JSON are strings


class DailyListener:
    """Awards the daily reward silently (plus a reaction) on the first message of the day.

    ``create_bot`` subscribes ``on_payload``: it reads MESSAGE_CREATE straight from the
    gateway JSON, so hikari builds no message, member or user objects for the (vast
    majority of) messages that need nothing. ``on_message`` does the same from a typed event.
    """

    def __init__(self, state: BotState, rest: hikari.api.RESTClient) -> None:
        self.state = state
        self.rest = rest
        self._in_flight: set[tuple[str, str]] = set()
        self.api_calls = 0

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
            daily = await self.state.client(EconomyClient).claim_daily(
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
        if daily.roles_earned:
            await grant_roles(self.rest, guild, user, daily.roles_earned)


class PresenceListeners:
    """Guild registration, member leave/rejoin and the role-reward reconcile."""

    def __init__(self, state: BotState, bot: hikari.GatewayBot) -> None:
        self.state = state
        self.bot = bot

    async def on_guild_available(self, event: hikari.GuildAvailableEvent) -> None:
        await self._register(event.guild)

    async def on_guild_join(self, event: hikari.GuildJoinEvent) -> None:
        await self._register(event.guild)

    async def _register(self, guild: hikari.GatewayGuild) -> None:
        try:
            await self.state.api.register_guild(str(guild.id), guild.name)
            await self.reconcile_roles(str(guild.id))
        except ApiError as error:
            log.error("could not register guild", guild_id=str(guild.id), detail=error.detail)

    async def reconcile_roles(self, guild_id: str) -> int:
        """Grant reward roles that members earned while the bot was away; returns how many."""
        granted = 0
        for holder in await self.state.client(EconomyClient).role_reward_holders(guild_id):
            member = self.bot.cache.get_member(int(guild_id), int(holder.user_id))
            if member is None:
                continue
            missing = [r for r in holder.role_ids if int(r) not in member.role_ids]
            if missing:
                refused = await grant_roles(self.bot.rest, guild_id, holder.user_id, missing)
                granted += len(missing) - len(refused)
        return granted

    async def on_member_leave(self, event: hikari.MemberDeleteEvent) -> None:
        await self._set_active(event.guild_id, event.user_id, active=False)

    async def on_member_join(self, event: hikari.MemberCreateEvent) -> None:
        if not event.member.is_bot:
            await self._set_active(event.guild_id, event.user_id, active=True)

    async def _set_active(
        self, guild_id: hikari.Snowflake, user_id: hikari.Snowflake, *, active: bool
    ) -> None:
        try:
            await self.state.client(EconomyClient).set_member_active(
                str(guild_id), str(user_id), active
            )
        except ApiError as error:
            log.warning(
                "could not record member presence",
                guild_id=str(guild_id),
                user_id=str(user_id),
                detail=error.detail,
            )
