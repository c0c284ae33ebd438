"""In-memory Discord world for the fake: users, guilds, roles, channels, members, messages.

Tests arrange this state before (or while) a bot runs; the REST routes and the gateway read it
and render it in Discord's JSON shapes, so hikari deserializes it like the real thing.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hikari

__all__ = [
    "ALL_PERMISSIONS",
    "BOT_ROLE_PERMISSIONS",
    "EVERYONE_PERMISSIONS",
    "ChannelType",
    "DiscordState",
    "FakeChannel",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Json",
    "OAuthGrant",
    "iso_now",
]

Json = dict[str, Any]

_DISCORD_EPOCH_MS = 1_420_070_400_000
_MENTION = re.compile(r"<@!?(\d+)>")

ALL_PERMISSIONS = int(hikari.Permissions.all_permissions())
EVERYONE_PERMISSIONS = int(
    hikari.Permissions.VIEW_CHANNEL
    | hikari.Permissions.SEND_MESSAGES
    | hikari.Permissions.READ_MESSAGE_HISTORY
    | hikari.Permissions.ADD_REACTIONS
    | hikari.Permissions.USE_APPLICATION_COMMANDS
    | hikari.Permissions.EMBED_LINKS
)
BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | int(
    hikari.Permissions.MANAGE_ROLES | hikari.Permissions.MANAGE_MESSAGES
)


class ChannelType:
    """Discord channel type numbers the fake knows how to render."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_NEWS = 5


def iso_now() -> str:
    """Return the current UTC time as Discord's ISO 8601 timestamp."""
    return datetime.now(UTC).isoformat()


@dataclass(eq=False)
class FakeUser:
    """A Discord user (human or bot)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    email: str | None = None
    accepts_dms: bool = True

    def to_payload(self) -> Json:
        """Render as a Discord user object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(eq=False)
class FakeRole:
    """A guild role; `assignable=False` makes grants fail with 403 like a role above the bot."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 1
    color: int = 0
    managed: bool = False
    assignable: bool = True
    bot_id: int | None = None

    def to_payload(self) -> Json:
        """Render as a Discord role object."""
        payload: Json = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass(eq=False)
class FakeChannel:
    """A guild channel or a DM channel (`guild_id is None`, `recipient` set)."""

    id: int
    guild_id: int | None
    name: str | None
    type: int = ChannelType.GUILD_TEXT
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    recipient: FakeUser | None = None

    def to_payload(self) -> Json:
        """Render as a Discord channel object."""
        payload: Json = {"id": str(self.id), "type": self.type, "last_message_id": None}
        if self.type == ChannelType.DM:
            assert self.recipient is not None
            payload["recipients"] = [self.recipient.to_payload()]
            return payload
        payload |= {
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [],
            "nsfw": False,
            "flags": 0,
        }
        if self.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_NEWS):
            payload |= {"topic": self.topic, "rate_limit_per_user": 0}
        elif self.type == ChannelType.GUILD_VOICE:
            payload |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        return payload


@dataclass(eq=False)
class FakeMember:
    """A user's membership in a guild."""

    user: FakeUser
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        """The member's user id."""
        return self.user.id

    def to_payload(self, *, with_user: bool = True, with_guild_id: bool = False) -> Json:
        """Render as a Discord guild member object."""
        payload: Json = {
            "roles": [str(role_id) for role_id in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user.to_payload()
        if with_guild_id:
            payload["guild_id"] = str(self.guild_id)
        return payload


@dataclass(eq=False)
class FakeGuild:
    """A guild with its roles (the @everyone role has the guild's id), channels and members."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)

    def to_payload(self) -> Json:
        """Render as a REST guild object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "features": [],
            "roles": [role.to_payload() for role in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "max_members": 500_000,
            "max_presences": None,
            "approximate_member_count": len(self.members),
            "approximate_presence_count": len(self.members),
        }

    def to_gateway_payload(self, *, unavailable: bool | None = False) -> Json:
        """Render as a GUILD_CREATE payload; `unavailable=None` marks a fresh join."""
        payload = self.to_payload() | {
            "joined_at": iso_now(),
            "large": False,
            "member_count": len(self.members),
            "members": [member.to_payload() for member in self.members.values()],
            "channels": [channel.to_payload() for channel in self.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }
        if unavailable is not None:
            payload["unavailable"] = unavailable
        return payload


@dataclass(eq=False)
class FakeInteraction:
    """An INTERACTION_CREATE the fake sent, and how the bot answered it."""

    id: int
    token: str
    type: int
    payload: Json
    channel_id: int
    guild_id: int | None
    user_id: int
    message_id: int | None = None
    response_type: int | None = None
    response: Json | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        """Whether the bot sent the initial callback."""
        return self.response_type is not None


@dataclass(eq=False)
class OAuthGrant:
    """An OAuth2 authorization: code or access token for a user with scopes."""

    user_id: int
    scopes: list[str]
    redirect_uri: str
    refresh_token: str = ""


class DiscordState:
    """The fake's world. Setup helpers here are part of `FakeDiscord`'s public API."""

    def __init__(self, *, application_id: int | None = None, bot_name: str = "guildbank") -> None:
        self._ids = itertools.count(1)
        self.application_id = application_id or self.next_id()
        self.bot_user = FakeUser(self.application_id, bot_name, bot=True)
        self.client_secret = secrets.token_urlsafe(24)
        self.token = make_bot_token(self.application_id)
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, Json] = {}
        self.commands: dict[int | None, list[Json]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.oauth_login_user: int | None = None
        self.oauth_codes: dict[str, OAuthGrant] = {}
        self.oauth_tokens: dict[str, OAuthGrant] = {}

    def next_id(self) -> int:
        """Return a fresh snowflake with the current timestamp."""
        millis = int(time.time() * 1000) - _DISCORD_EPOCH_MS
        return (millis << 22) | (next(self._ids) & 0xFFF)

    def snowflake_on_shard(self, shard_id: int, shard_count: int) -> int:
        """Return a fresh snowflake that, used as a guild id, maps to `shard_id`."""
        while True:
            candidate = self.next_id()
            if (candidate >> 22) % shard_count == shard_id:
                return candidate

    def add_user(
        self, user_id: int | None = None, username: str | None = None, *, bot: bool = False
    ) -> FakeUser:
        """Create (or return the existing) user."""
        if user_id is not None and user_id in self.users:
            return self.users[user_id]
        user_id = user_id or self.next_id()
        user = FakeUser(user_id, username or f"user{user_id}", bot=bot)
        self.users[user_id] = user
        return user

    def add_guild(
        self,
        guild_id: int | None = None,
        name: str = "Test Guild",
        *,
        owner_id: int | None = None,
        with_bot: bool = True,
        bot_permissions: int = BOT_ROLE_PERMISSIONS,
        everyone_permissions: int = EVERYONE_PERMISSIONS,
        channels: tuple[str, ...] = ("general",),
    ) -> FakeGuild:
        """Create a guild with @everyone, its owner, text channels and (by default) the bot."""
        guild_id = guild_id or self.next_id()
        owner = self.add_user(owner_id, None if owner_id else "owner")
        guild = FakeGuild(guild_id, name, owner.id)
        self.guilds[guild_id] = guild
        guild.roles[guild_id] = FakeRole(guild_id, guild_id, "@everyone", everyone_permissions, 0)
        for channel_name in channels:
            self.add_channel(guild_id, channel_name)
        self.add_member(guild_id, owner.id, owner.username)
        if with_bot:
            bot_role = self.add_role(
                guild_id, self.bot_user.username, bot_permissions, position=100
            )
            bot_role.managed, bot_role.bot_id = True, self.bot_user.id
            self.add_member(guild_id, self.bot_user.id, roles=[bot_role.id], bot=True)
        return guild

    def add_role(
        self,
        guild_id: int,
        name: str,
        permissions: int = 0,
        *,
        role_id: int | None = None,
        position: int = 1,
        assignable: bool = True,
    ) -> FakeRole:
        """Add a role; roles at or above the bot's top role, or not assignable, refuse grants."""
        role = FakeRole(role_id or self.next_id(), guild_id, name, permissions, position)
        role.assignable = assignable
        self.guilds[guild_id].roles[role.id] = role
        return role

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        channel_id: int | None = None,
        type: int = ChannelType.GUILD_TEXT,
        parent_id: int | None = None,
    ) -> FakeChannel:
        """Add a guild channel."""
        guild = self.guilds[guild_id]
        channel = FakeChannel(
            channel_id or self.next_id(), guild_id, name, type, len(guild.channels)
        )
        channel.parent_id = parent_id
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        username: str | None = None,
        *,
        roles: list[int] | None = None,
        bot: bool = False,
        nick: str | None = None,
    ) -> FakeMember:
        """Add (or replace) a guild member, creating the user when unknown."""
        user = self.add_user(user_id, username, bot=bot)
        member = FakeMember(user, guild_id, list(roles or []), nick)
        self.guilds[guild_id].members[user.id] = member
        return member

    def get_member(self, guild_id: int, user_id: int) -> FakeMember | None:
        """Return a member or None."""
        guild = self.guilds.get(guild_id)
        return guild.members.get(user_id) if guild else None

    def default_channel(self, guild_id: int) -> FakeChannel:
        """Return the guild's first text channel."""
        for channel in self.guilds[guild_id].channels.values():
            if channel.type == ChannelType.GUILD_TEXT:
                return channel
        msg = f"guild {guild_id} has no text channel"
        raise LookupError(msg)

    def permissions_for(self, guild_id: int, user_id: int) -> int:
        """Compute guild-level permissions: owner/ADMINISTRATOR get all, else OR of roles."""
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        perms = guild.roles[guild_id].permissions
        for role_id in member.roles if member else []:
            if role := guild.roles.get(role_id):
                perms |= role.permissions
        if perms & int(hikari.Permissions.ADMINISTRATOR):
            return ALL_PERMISSIONS
        return perms

    def top_role_position(self, guild_id: int, user_id: int) -> int:
        """Position of the member's highest role (0 when only @everyone)."""
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        positions = [
            guild.roles[r].position for r in (member.roles if member else []) if r in guild.roles
        ]
        return max(positions, default=0)

    def make_message(
        self,
        channel_id: int,
        author: FakeUser,
        content: str = "",
        *,
        message_id: int | None = None,
        embeds: list[Json] | None = None,
        components: list[Json] | None = None,
        flags: int = 0,
        webhook_id: int | None = None,
        attachments: list[Json] | None = None,
    ) -> Json:
        """Build (and store) a full message object; guild messages carry `member` without `user`."""
        channel = self.channels.get(channel_id)
        payload: Json = {
            "id": str(message_id or self.next_id()),
            "channel_id": str(channel_id),
            "author": author.to_payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [u.to_payload() for u in self._mentioned_users(content)],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "components": number_components(components or []),
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
        if author.bot:
            payload["application_id"] = str(self.application_id)
        if channel is not None and channel.guild_id is not None:
            payload["guild_id"] = str(channel.guild_id)
            member = self.get_member(channel.guild_id, author.id)
            if member is not None and webhook_id is None:
                payload["member"] = member.to_payload(with_user=False)
        self.messages[int(payload["id"])] = payload
        return payload

    def _mentioned_users(self, content: str) -> list[FakeUser]:
        ids = dict.fromkeys(int(match) for match in _MENTION.findall(content))
        return [self.users[user_id] for user_id in ids if user_id in self.users]


def make_bot_token(application_id: int) -> str:
    """Build a token shaped like Discord's: base64(application id), timestamp part, secret."""
    head = base64.b64encode(str(application_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"


def number_components(components: list[Json]) -> list[Json]:
    """Give every component a numeric `id` (Discord assigns them; hikari requires them)."""
    counter = itertools.count(1)

    def walk(items: list[Json]) -> list[Json]:
        out = []
        for item in items:
            numbered = dict(item)
            numbered.setdefault("id", next(counter))
            if isinstance(numbered.get("components"), list):
                numbered["components"] = walk(numbered["components"])
            out.append(numbered)
        return out

    return walk(components)
