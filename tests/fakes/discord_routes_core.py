"""REST routes for the gateway info, users, guilds, members, roles, channels, messages, pins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import hikari

from tests.fakes.discord_entities import ChannelType, FakeChannel, iso_now, number_components
from tests.fakes.discord_gateway import Intent
from tests.fakes.discord_rest import DiscordHTTPError, Reply, RestRequest, Route, route

if TYPE_CHECKING:
    from tests.fakes.discord_entities import FakeGuild, FakeMember, Json
    from tests.fakes.discord_gateway import GatewayHub
    from tests.fakes.discord_state import DiscordState

__all__ = ["CoreRoutes", "apply_message_edit", "own_guild_payload"]

_MANAGE_ROLES = int(hikari.Permissions.MANAGE_ROLES)
_EPHEMERAL = 1 << 6


def own_guild_payload(state: DiscordState, guild: FakeGuild, user_id: int) -> Json:
    """A `/users/@me/guilds` entry: owner flag and permissions computed for `user_id`."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "banner": None,
        "owner": guild.owner_id == user_id,
        "permissions": str(state.permissions_for(guild.id, user_id)),
        "features": [],
        "approximate_member_count": len(guild.members),
        "approximate_presence_count": len(guild.members),
    }


def apply_message_edit(message: Json, body: Json) -> Json:
    """Apply a PATCH body (content, embeds, components, flags, attachments) to a stored message."""
    for key in ("content", "embeds", "flags", "attachments"):
        if key in body and body[key] is not None:
            message[key] = body[key]
    if body.get("components") is not None:
        message["components"] = number_components(body["components"])
    message["edited_timestamp"] = iso_now()
    return message


class CoreRoutes:
    """Handlers for non-interaction REST routes."""

    def __init__(
        self, state: DiscordState, gateway: GatewayHub, *, ws_url: str, shards: int
    ) -> None:
        self.state, self.gateway = state, gateway
        self.ws_url, self.shards = ws_url, shards
        self.echo_bot_messages = True

    def routes(self) -> list[Route]:
        """The route table."""
        return [
            route("GET", "/gateway", self.get_gateway, "none"),
            route("GET", "/gateway/bot", self.get_gateway_bot),
            route("GET", "/users/@me", self.get_me, "user"),
            route("GET", "/users/@me/guilds", self.get_my_guilds, "user"),
            route("POST", "/users/@me/channels", self.create_dm),
            route("GET", "/users/{user}", self.get_user),
            route("GET", "/guilds/{guild}", self.get_guild),
            route("GET", "/guilds/{guild}/roles", self.get_roles),
            route("GET", "/guilds/{guild}/channels", self.get_channels),
            route("GET", "/guilds/{guild}/members", self.list_members),
            route("GET", "/guilds/{guild}/members/search", self.search_members),
            route("GET", "/guilds/{guild}/members/{user}", self.get_member),
            route("PUT", "/guilds/{guild}/members/{user}/roles/{role}", self.add_member_role),
            route("DELETE", "/guilds/{guild}/members/{user}/roles/{role}", self.remove_member_role),
            route("GET", "/channels/{channel}", self.get_channel),
            route("POST", "/channels/{channel}/typing", self.typing),
            route("GET", "/channels/{channel}/messages", self.list_messages),
            route("POST", "/channels/{channel}/messages", self.create_message),
            route("GET", "/channels/{channel}/messages/pins", self.list_pins),
            route("PUT", "/channels/{channel}/messages/pins/{message}", self.pin),
            route("DELETE", "/channels/{channel}/messages/pins/{message}", self.unpin),
            route("GET", "/channels/{channel}/pins", self.list_pins_legacy),
            route("PUT", "/channels/{channel}/pins/{message}", self.pin),
            route("DELETE", "/channels/{channel}/pins/{message}", self.unpin),
            route("GET", "/channels/{channel}/messages/{message}", self.get_message),
            route("PATCH", "/channels/{channel}/messages/{message}", self.edit_message),
            route("DELETE", "/channels/{channel}/messages/{message}", self.delete_message),
            route(
                "PUT",
                "/channels/{channel}/messages/{message}/reactions/{emoji:str}/@me",
                self.react,
            ),
            route(
                "DELETE",
                "/channels/{channel}/messages/{message}/reactions/{emoji:str}/@me",
                self.unreact,
            ),
        ]

    # -- lookups ------------------------------------------------------------------------------

    def _guild(self, request: RestRequest) -> FakeGuild:
        guild = self.state.guilds.get(request.id("guild"))
        if guild is None:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        if self.state.bot_user.id not in guild.members:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        return guild

    def _member(self, guild: FakeGuild, user_id: int) -> FakeMember:
        member = guild.members.get(user_id)
        if member is None:
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return member

    def _channel(self, request: RestRequest) -> FakeChannel:
        channel = self.state.channels.get(request.id("channel"))
        if channel is None:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        if (
            channel.guild_id is not None
            and self.state.bot_user.id not in self.state.guilds[channel.guild_id].members
        ):
            raise DiscordHTTPError(403, 50001, "Missing Access")
        return channel

    def _message(self, request: RestRequest) -> Json:
        channel = self._channel(request)
        message = self.state.messages.get(request.id("message"))
        if message is None or message["channel_id"] != str(channel.id):
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        return message

    # -- gateway and users ----------------------------------------------------------------------

    async def get_gateway(self, _: RestRequest) -> Reply:
        return Reply({"url": self.ws_url})

    async def get_gateway_bot(self, _: RestRequest) -> Reply:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 16}
        return Reply({"url": self.ws_url, "shards": self.shards, "session_start_limit": limit})

    async def get_me(self, request: RestRequest) -> Reply:
        _require_scope(request, "identify")
        user = request.bearer_user or self.state.bot_user
        payload = user.to_payload() | {
            "mfa_enabled": False,
            "flags": 0,
            "locale": "en-US",
            "verified": True,
        }
        if user.email is not None and (
            request.bearer_user is None or "email" in request.bearer_scopes
        ):
            payload["email"] = user.email
        return Reply(payload)

    async def get_my_guilds(self, request: RestRequest) -> Reply:
        _require_scope(request, "guilds")
        user = request.bearer_user or self.state.bot_user
        guilds = sorted(
            (g for g in self.state.guilds.values() if user.id in g.members),
            key=lambda guild: guild.id,
        )
        return Reply([own_guild_payload(self.state, guild, user.id) for guild in guilds])

    async def get_user(self, request: RestRequest) -> Reply:
        user = self.state.users.get(request.id("user"))
        if user is None:
            raise DiscordHTTPError(404, 10013, "Unknown User")
        return Reply(user.to_payload())

    async def create_dm(self, request: RestRequest) -> Reply:
        recipient = self.state.users.get(int(request.body.get("recipient_id", 0)))
        if recipient is None:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body")
        for channel in self.state.channels.values():
            if channel.type == ChannelType.DM and channel.recipient is recipient:
                return Reply(channel.to_payload())
        channel = FakeChannel(self.state.next_id(), None, None, ChannelType.DM, recipient=recipient)
        self.state.channels[channel.id] = channel
        return Reply(channel.to_payload())

    # -- guilds -------------------------------------------------------------------------------

    async def get_guild(self, request: RestRequest) -> Reply:
        return Reply(self._guild(request).to_payload())

    async def get_roles(self, request: RestRequest) -> Reply:
        return Reply([role.to_payload() for role in self._guild(request).roles.values()])

    async def get_channels(self, request: RestRequest) -> Reply:
        return Reply([channel.to_payload() for channel in self._guild(request).channels.values()])

    async def get_member(self, request: RestRequest) -> Reply:
        return Reply(self._member(self._guild(request), request.id("user")).to_payload())

    async def list_members(self, request: RestRequest) -> Reply:
        guild = self._guild(request)
        after, limit = int(request.query.get("after", 0)), int(request.query.get("limit", 1))
        members = sorted(
            (m for m in guild.members.values() if m.user.id > after), key=lambda m: m.user.id
        )
        return Reply([member.to_payload() for member in members[:limit]])

    async def search_members(self, request: RestRequest) -> Reply:
        guild = self._guild(request)
        query, limit = request.query.get("query", "").lower(), int(request.query.get("limit", 1))
        found = [m for m in guild.members.values() if m.user.username.lower().startswith(query)]
        return Reply([member.to_payload() for member in found[:limit]])

    async def add_member_role(self, request: RestRequest) -> Reply:
        return await self._change_role(request, add=True)

    async def remove_member_role(self, request: RestRequest) -> Reply:
        return await self._change_role(request, add=False)

    async def _change_role(self, request: RestRequest, *, add: bool) -> Reply:
        guild = self._guild(request)
        member = self._member(guild, request.id("user"))
        role = guild.roles.get(request.id("role"))
        if role is None:
            raise DiscordHTTPError(404, 10011, "Unknown Role")
        bot_id = self.state.bot_user.id
        if (
            not role.assignable
            or role.managed
            or role.id == guild.id
            or not self.state.permissions_for(guild.id, bot_id) & _MANAGE_ROLES
            or role.position >= self.state.top_role_position(guild.id, bot_id)
        ):
            raise DiscordHTTPError(403, 50013, "Missing Permissions")
        if add and role.id not in member.roles:
            member.roles.append(role.id)
        elif not add and role.id in member.roles:
            member.roles.remove(role.id)
        else:
            return Reply(status=204)
        await self.gateway.dispatch(
            "GUILD_MEMBER_UPDATE",
            member.to_payload(with_guild_id=True),
            guild_id=guild.id,
            intent=Intent.GUILD_MEMBERS,
        )
        return Reply(status=204)

    # -- channels and messages ----------------------------------------------------------------

    async def get_channel(self, request: RestRequest) -> Reply:
        return Reply(self._channel(request).to_payload())

    async def typing(self, request: RestRequest) -> Reply:
        self._channel(request)
        return Reply(status=204)

    async def list_messages(self, request: RestRequest) -> Reply:
        channel = self._channel(request)
        limit = int(request.query.get("limit", 50))
        found = [m for m in self.state.messages.values() if m["channel_id"] == str(channel.id)]
        return Reply(sorted(found, key=lambda m: -int(m["id"]))[:limit])

    async def create_message(self, request: RestRequest) -> Reply:
        channel = self._channel(request)
        if channel.recipient is not None and (
            channel.recipient.bot or not channel.recipient.accepts_dms
        ):
            raise DiscordHTTPError(403, 50007, "Cannot send messages to this user")
        body = request.body
        nonce = str(body["nonce"]) if body.get("enforce_nonce") and body.get("nonce") else None
        first = (
            None
            if nonce is None
            else self.state.messages.get(self.state.nonces.get((channel.id, nonce), 0))
        )
        if first is not None:
            # Discord returns the first message of a repeated enforced nonce, posting nothing.
            return Reply(first)
        message = self.state.make_message(
            channel.id,
            self.state.bot_user,
            body.get("content") or "",
            embeds=body.get("embeds"),
            components=body.get("components"),
            flags=body.get("flags") or 0,
            attachments=attachments_for(self.state, request),
        )
        if nonce is not None:
            message["nonce"] = nonce
            self.state.nonces[channel.id, nonce] = int(message["id"])
        await self.echo("MESSAGE_CREATE", message)
        return Reply(message)

    async def echo(self, name: str, message: Json) -> None:
        """Send the gateway event Discord sends for a message the bot created or edited."""
        if self.echo_bot_messages and not message["flags"] & _EPHEMERAL:
            await self.gateway.dispatch_message(name, message)

    async def get_message(self, request: RestRequest) -> Reply:
        return Reply(self._message(request))

    async def edit_message(self, request: RestRequest) -> Reply:
        message = self._message(request)
        if message["author"]["id"] != str(self.state.bot_user.id):
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        apply_message_edit(message, request.body)
        await self.echo("MESSAGE_UPDATE", message)
        return Reply(message)

    async def delete_message(self, request: RestRequest) -> Reply:
        message = self._message(request)
        del self.state.messages[int(message["id"])]
        event = {"id": message["id"], "channel_id": message["channel_id"]}
        if "guild_id" in message:
            event["guild_id"] = message["guild_id"]
            await self.gateway.dispatch(
                "MESSAGE_DELETE",
                event,
                guild_id=int(message["guild_id"]),
                intent=Intent.GUILD_MESSAGES,
            )
        return Reply(status=204)

    async def react(self, request: RestRequest) -> Reply:
        message = self._message(request)
        emoji = _emoji(request.params["emoji"])
        reactions: list[Json] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["emoji"] == emoji:
                if not reaction["me"]:
                    reaction["me"], reaction["count"] = True, reaction["count"] + 1
                return Reply(status=204)
        reactions.append({"emoji": emoji, "count": 1, "me": True})
        return Reply(status=204)

    async def unreact(self, request: RestRequest) -> Reply:
        message = self._message(request)
        emoji = _emoji(request.params["emoji"])
        for reaction in list(message.get("reactions", [])):
            if reaction["emoji"] == emoji and reaction["me"]:
                reaction["me"], reaction["count"] = False, reaction["count"] - 1
                if not reaction["count"]:
                    message["reactions"].remove(reaction)
        return Reply(status=204)

    async def list_pins(self, request: RestRequest) -> Reply:
        items = [{"pinned_at": m["timestamp"], "message": m} for m in self._pinned(request)]
        return Reply({"items": items, "has_more": False})

    async def list_pins_legacy(self, request: RestRequest) -> Reply:
        return Reply(self._pinned(request))

    def _pinned(self, request: RestRequest) -> list[Json]:
        channel = self._channel(request)
        return [
            m
            for m in self.state.messages.values()
            if m["channel_id"] == str(channel.id) and m["pinned"]
        ]

    async def pin(self, request: RestRequest) -> Reply:
        self._message(request)["pinned"] = True
        return Reply(status=204)

    async def unpin(self, request: RestRequest) -> Reply:
        self._message(request)["pinned"] = False
        return Reply(status=204)


def attachments_for(state: DiscordState, request: RestRequest) -> list[Json]:
    """Attachment objects for the files of a multipart request."""
    return [
        {
            "id": str(state.next_id()),
            "filename": name,
            "size": len(data),
            "url": f"{request.base_url}/attachments/{name}",
            "proxy_url": f"{request.base_url}/attachments/{name}",
        }
        for name, data in request.files.items()
    ]


def _require_scope(request: RestRequest, scope: str) -> None:
    if request.bearer_user is not None and scope not in request.bearer_scopes:
        raise DiscordHTTPError(403, 50001, f"Missing Access: OAuth2 scope {scope!r} not granted")


def _emoji(raw: str) -> Json:
    if ":" in raw:
        name, emoji_id = raw.split(":", 1)
        return {"id": emoji_id, "name": name}
    return {"id": None, "name": raw}
