"""Discord entities for the fake (users, roles, channels, members, guilds, interactions) and
their JSON payloads in the shapes hikari 2.6 deserializes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hikari

__all__ = [
    "ALL_PERMISSIONS",
    "BOT_ROLE_PERMISSIONS",
    "EVERYONE_PERMISSIONS",
    "ChannelType",
    "FakeChannel",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Json",
    "OAuthGrant",
    "iso_now",
    "number_components",
]

Json = dict[str, Any]

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
