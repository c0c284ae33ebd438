"""A fake Discord (REST + gateway + OAuth2) on 127.0.0.1 for end-to-end tests of the real bot.

    async with FakeDiscord() as discord:
        guild = discord.add_guild(name="Guild")
        alice = discord.add_member(guild.id, username="alice")
        bot = make_bot(discord, intents=hikari.Intents.ALL_UNPRIVILEGED)
        client = lightbulb.client_from_app(bot, default_enabled_guilds=[guild.id])
        async with running_bot(bot, discord, client=client):
            interaction = await discord.slash_command(guild.id, alice.id, "ping")
            call = await discord.wait_for_response(interaction)
            assert call.json["data"]["content"] == "pong"

State setup (`add_guild`, `add_member`, `add_role`, `add_channel`, ...) comes from
`DiscordState`; everything the bot sends over REST is recorded in `calls`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.discord_bot import make_bot, running_bot
from tests.fakes.discord_entities import (
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeRole,
    FakeUser,
    Json,
)
from tests.fakes.discord_gateway import GatewayHub, Intent, SentEvent
from tests.fakes.discord_interactions import InteractionBuilder
from tests.fakes.discord_rest import InjectedFailure, RecordedCall, RestApi
from tests.fakes.discord_routes_core import CoreRoutes
from tests.fakes.discord_routes_interactions import InteractionRoutes
from tests.fakes.discord_routes_oauth import OAuthRoutes
from tests.fakes.discord_state import DiscordState

__all__ = [
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Intent",
    "RecordedCall",
    "make_bot",
    "running_bot",
]


class FakeDiscord(DiscordState):
    """Fake Discord server; use as `async with FakeDiscord() as discord:`."""

    def __init__(
        self,
        *,
        application_id: int | None = None,
        bot_name: str = "guildbank",
        recommended_shards: int = 1,
    ) -> None:
        super().__init__(application_id=application_id, bot_name=bot_name)
        self.recommended_shards = recommended_shards
        self.gateway = GatewayHub(self)
        self.rest = RestApi(self)
        self.interaction_builder = InteractionBuilder(self)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._core: CoreRoutes | None = None
        self._oauth = OAuthRoutes(self)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway.resume_url = self.ws_url
        self._core = CoreRoutes(
            self, self.gateway, ws_url=self.ws_url, shards=self.recommended_shards
        )
        self.rest.routes = [
            *self._core.routes(),
            *InteractionRoutes(self, self._core).routes(),
            *self._oauth.routes(),
        ]
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.rest.internal_errors and exc is None:
            msg = f"the fake Discord crashed while handling requests: {self.rest.internal_errors!r}"
            raise AssertionError(msg) from self.rest.internal_errors[0]

    @property
    def rest_url(self) -> str:
        """REST base to pass as `hikari.GatewayBot(rest_url=...)`."""
        return f"{self.base_url}/api/v10"

    @property
    def ws_url(self) -> str:
        """Gateway websocket URL (what `GET /gateway/bot` returns)."""
        return f"{self.base_url.replace('http', 'ws', 1)}/gateway"

    @property
    def echo_bot_messages(self) -> bool:
        """Whether messages the bot sends come back as MESSAGE_CREATE/UPDATE (default True)."""
        return self._core.echo_bot_messages if self._core else True

    @echo_bot_messages.setter
    def echo_bot_messages(self, value: bool) -> None:
        assert self._core is not None, "start the fake first"
        self._core.echo_bot_messages = value

    # -- REST recording -----------------------------------------------------------------------

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[RecordedCall]:
        """Recorded REST calls (paths without `/api/v10`), optionally filtered."""
        return [
            call
            for call in self.rest.calls
            if (method is None or call.method == method) and call.path.startswith(path_prefix)
        ]

    def mark(self) -> int:
        """Index to pass as `since=` so later waits ignore calls made before now."""
        return len(self.rest.calls)

    async def wait_for_call(
        self,
        method: str | None,
        path_regex: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
        since: int = 0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> RecordedCall:
        """First call (from index `since`) whose path fullmatches `path_regex`; waits for it."""
        found = await self._wait_for(method, path_regex, timeout, since, 1, predicate)
        return found[0]

    async def wait_for_calls(
        self,
        method: str | None,
        path_regex: str,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
        since: int = 0,
    ) -> list[RecordedCall]:
        """The first `count` matching calls; waits until there are that many."""
        return await self._wait_for(method, path_regex, timeout, since, count, None)

    async def _wait_for(
        self,
        method: str | None,
        path_regex: str,
        timeout: float,  # noqa: ASYNC109 - bounded right here
        since: int,
        count: int,
        predicate: Callable[[RecordedCall], bool] | None,
    ) -> list[RecordedCall]:
        try:
            async with asyncio.timeout(timeout):
                return await self.rest.wait_for(
                    method, path_regex, since=since, count=count, predicate=predicate
                )
        except TimeoutError:
            seen = self.rest.describe(since)
            msg = f"no {count}x {method} {path_regex} within {timeout}s; calls were:\n  {seen}"
            raise TimeoutError(msg) from None

    def fail(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 403,
        code: int = 50013,
        message: str = "Missing Permissions",
        times: int | None = 1,
        retry_after: float | None = None,
    ) -> InjectedFailure:
        """Make matching calls fail (next `times`, or all when None; paths are fullmatched).

        5xx makes hikari retry; a 429 with `retry_after` is Discord's rate limit answer.
        """
        failure = InjectedFailure(method, path_regex, status, code, message, times, retry_after)
        self.rest.failures.append(failure)
        return failure

    # -- gateway ------------------------------------------------------------------------------

    @property
    def sent_events(self) -> list[SentEvent]:
        """Every dispatch sent (or dropped for intents), in order."""
        return self.gateway.sent

    def identify_payloads(self) -> list[Json]:
        """IDENTIFY `d` payloads received, in order (token, intents, shard, ...)."""
        return [session.identify for session in self.gateway.sessions.values()]

    async def wait_for_shards(
        self,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
    ) -> None:
        """Wait until `count` shards are identified and connected."""

        def ready() -> bool:
            return sum(s.connection is not None for s in self.gateway.live_sessions()) >= count

        async with asyncio.timeout(timeout):
            await self.gateway.wait_until(ready)

    async def dispatch(
        self,
        event: str,
        data: Json,
        *,
        guild_id: int | None = None,
        intent: int = 0,
        repeat: int = 1,
    ) -> int:
        """Send any dispatch to the shard of `guild_id` (all shards when None)."""
        return await self.gateway.dispatch(
            event, data, guild_id=guild_id, intent=intent, repeat=repeat
        )

    async def drop_connection(
        self, shard_id: int = 0, *, code: int = 4000, replay_duplicates: int = 0
    ) -> None:
        """Close a shard's websocket; hikari resumes (after ~1-2 s of its own backoff)."""
        await self.gateway.drop(shard_id, code=code, replay_duplicates=replay_duplicates)

    async def send_message(
        self,
        guild_id: int,
        channel_id: int | None,
        author_id: int,
        content: str,
        *,
        webhook_id: int | None = None,
        repeat: int = 1,
    ) -> Json:
        """A member (or bot, or webhook) posts in a channel: MESSAGE_CREATE. Returns the message."""
        channel_id = channel_id or self.default_channel(guild_id).id
        author = self.users[author_id]
        message = self.make_message(channel_id, author, content, webhook_id=webhook_id)
        await self.gateway.dispatch_message("MESSAGE_CREATE", message, repeat=repeat)
        return message

    async def member_add(
        self, guild_id: int, user_id: int | None = None, username: str | None = None, **kwargs: Any
    ) -> FakeMember:
        """A user joins: state plus GUILD_MEMBER_ADD (needs the GUILD_MEMBERS intent)."""
        member = self.add_member(guild_id, user_id, username, **kwargs)
        payload = member.to_payload(with_guild_id=True)
        await self.gateway.dispatch(
            "GUILD_MEMBER_ADD", payload, guild_id=guild_id, intent=Intent.GUILD_MEMBERS
        )
        return member

    async def member_remove(self, guild_id: int, user_id: int) -> None:
        """A member leaves: state plus GUILD_MEMBER_REMOVE (needs the GUILD_MEMBERS intent)."""
        member = self.guilds[guild_id].members.pop(user_id)
        payload = {"guild_id": str(guild_id), "user": member.user.to_payload()}
        await self.gateway.dispatch(
            "GUILD_MEMBER_REMOVE", payload, guild_id=guild_id, intent=Intent.GUILD_MEMBERS
        )

    async def channel_create(self, guild_id: int, name: str, **kwargs: Any) -> FakeChannel:
        """A channel is created: state plus CHANNEL_CREATE (GUILDS intent)."""
        channel = self.add_channel(guild_id, name, **kwargs)
        await self._guild_dispatch("CHANNEL_CREATE", channel.to_payload(), guild_id)
        return channel

    async def channel_update(self, channel: FakeChannel) -> None:
        """Tell the bot about a change made to `channel` in state: CHANNEL_UPDATE."""
        assert channel.guild_id is not None
        await self._guild_dispatch("CHANNEL_UPDATE", channel.to_payload(), channel.guild_id)

    async def channel_delete(self, channel_id: int) -> None:
        """A channel is deleted: gone from state, CHANNEL_DELETE sent."""
        channel = self.channels.pop(channel_id)
        assert channel.guild_id is not None
        del self.guilds[channel.guild_id].channels[channel_id]
        await self._guild_dispatch("CHANNEL_DELETE", channel.to_payload(), channel.guild_id)

    async def role_create(self, guild_id: int, name: str, **kwargs: Any) -> FakeRole:
        """A role is created: state plus GUILD_ROLE_CREATE (GUILDS intent)."""
        role = self.add_role(guild_id, name, **kwargs)
        payload = {"guild_id": str(guild_id), "role": role.to_payload()}
        await self._guild_dispatch("GUILD_ROLE_CREATE", payload, guild_id)
        return role

    async def role_update(self, role: FakeRole) -> None:
        """Tell the bot about a change made to `role` in state: GUILD_ROLE_UPDATE."""
        payload = {"guild_id": str(role.guild_id), "role": role.to_payload()}
        await self._guild_dispatch("GUILD_ROLE_UPDATE", payload, role.guild_id)

    async def role_delete(self, guild_id: int, role_id: int) -> None:
        """A role is deleted: gone from state (and members), GUILD_ROLE_DELETE sent."""
        guild = self.guilds[guild_id]
        del guild.roles[role_id]
        for member in guild.members.values():
            if role_id in member.roles:
                member.roles.remove(role_id)
        payload = {"guild_id": str(guild_id), "role_id": str(role_id)}
        await self._guild_dispatch("GUILD_ROLE_DELETE", payload, guild_id)

    async def member_update(self, guild_id: int, user_id: int) -> None:
        """Tell the bot about a change made to a member in state (roles, nick): GUILD_MEMBER_UPDATE
        (needs the GUILD_MEMBERS intent)."""
        payload = self.guilds[guild_id].members[user_id].to_payload(with_guild_id=True)
        await self.gateway.dispatch(
            "GUILD_MEMBER_UPDATE", payload, guild_id=guild_id, intent=Intent.GUILD_MEMBERS
        )

    async def _guild_dispatch(self, event: str, payload: Json, guild_id: int) -> None:
        await self.gateway.dispatch(event, payload, guild_id=guild_id, intent=Intent.GUILDS)

    async def guild_join(self, guild_id: int) -> None:
        """The bot joins an existing guild while running: GUILD_CREATE without `unavailable`."""
        guild = self.guilds[guild_id]
        if self.bot_user.id not in guild.members:
            self.add_member(guild_id, self.bot_user.id, bot=True)
        payload = guild.to_gateway_payload(unavailable=None)
        await self.gateway.dispatch(
            "GUILD_CREATE", payload, guild_id=guild_id, intent=Intent.GUILDS
        )

    # -- interactions -------------------------------------------------------------------------

    async def _send_interaction(
        self, interaction: FakeInteraction, repeat: int = 1
    ) -> FakeInteraction:
        shard = None if interaction.guild_id is not None else 0
        delivered = await self.gateway.dispatch(
            "INTERACTION_CREATE",
            interaction.payload,
            guild_id=interaction.guild_id,
            shard_id=shard,
            repeat=repeat,
        )
        if not delivered:
            msg = "no gateway session would receive the interaction: is the bot running?"
            raise RuntimeError(msg)
        return interaction

    async def slash_command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | Sequence[Json] | None = None,
        *,
        channel_id: int | None = None,
        repeat: int = 1,
    ) -> FakeInteraction:
        """A user runs `/name` ("group sub" for subcommands) with `{option: value}` options."""
        interaction = self.interaction_builder.command(
            guild_id, user_id, name, options or {}, channel_id=channel_id
        )
        return await self._send_interaction(interaction, repeat)

    async def autocomplete(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any],
        focused: str,
    ) -> FakeInteraction:
        """A user types into option `focused` (its value is the partial text)."""
        interaction = self.interaction_builder.command(
            guild_id, user_id, name, options, channel_id=None, focused=focused
        )
        return await self._send_interaction(interaction)

    async def user_context_menu(
        self, guild_id: int | None, user_id: int, name: str, target_id: int
    ) -> FakeInteraction:
        """A user picks Apps > `name` on another user."""
        interaction = self.interaction_builder.user_context_menu(guild_id, user_id, name, target_id)
        return await self._send_interaction(interaction)

    async def button_click(
        self,
        message_id: int,
        custom_id: str | None = None,
        *,
        user_id: int,
        label: str | None = None,
        repeat: int = 1,
    ) -> FakeInteraction:
        """A user presses a button of a stored message (found by custom_id and/or label)."""
        interaction = self.interaction_builder.component(
            message_id, user_id, custom_id=custom_id, label=label, values=()
        )
        return await self._send_interaction(interaction, repeat)

    async def select_menu(
        self, message_id: int, custom_id: str | None, values: Sequence[str], *, user_id: int
    ) -> FakeInteraction:
        """A user picks `values` in a select menu of a stored message."""
        interaction = self.interaction_builder.component(
            message_id, user_id, custom_id=custom_id, label=None, values=values
        )
        return await self._send_interaction(interaction)

    async def modal_submit(
        self, opened_by: FakeInteraction, values: Mapping[str, str]
    ) -> FakeInteraction:
        """The user submits the modal the bot opened in answer to `opened_by`."""
        return await self._send_interaction(
            self.interaction_builder.modal_submit(opened_by, values)
        )

    async def wait_for_response(
        self,
        interaction: FakeInteraction,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
    ) -> RecordedCall:
        """The bot's initial callback to `interaction` (its JSON body is in `.json`)."""
        return await self.wait_for_call(
            "POST", rf"/interactions/{interaction.id}/[^/]+/callback", timeout=timeout
        )

    def channel_messages(self, channel_id: int) -> list[Json]:
        """Messages currently in a channel, oldest first."""
        found = [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]
        return sorted(found, key=lambda message: int(message["id"]))

    def dm_messages(self, user_id: int) -> list[Json]:
        """Messages in the bot's DM channel with `user_id`, oldest first (none: no DM yet)."""
        dms = {
            channel.id
            for channel in self.channels.values()
            if channel.recipient is not None and channel.recipient.id == user_id
        }
        found = [m for m in self.messages.values() if int(m["channel_id"]) in dms]
        return sorted(found, key=lambda message: int(message["id"]))

    def response_message(self, interaction: FakeInteraction) -> Json:
        """The message shown for the interaction's response (after follow-ups and edits)."""
        if interaction.original_message_id is None:
            msg = f"interaction {interaction.id} has no response message: {interaction.response}"
            raise LookupError(msg)
        return self.messages[interaction.original_message_id]

    # -- OAuth2 -------------------------------------------------------------------------------

    def oauth_login_as(self, user_id: int, *, email: str | None = None) -> None:
        """The next `/oauth2/authorize` logs in this user (the browser "Authorize" click)."""
        self.oauth_login_user = user_id
        if email is not None:
            self.users[user_id].email = email

    def oauth_deny_next(self) -> None:
        """The next `/oauth2/authorize` redirects back with `error=access_denied`."""
        self._oauth.deny_next = True
