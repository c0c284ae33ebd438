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

import hikari

from tests.fakes.discord_entities import (
    ALL_PERMISSIONS,
    BOT_ROLE_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeRole,
    FakeUser,
    Json,
    OAuthGrant,
    iso_now,
    number_components,
)

__all__ = ["DiscordState", "make_bot_token"]

_DISCORD_EPOCH_MS = 1_420_070_400_000
_MENTION = re.compile(r"<@!?(\d+)>")


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
        # (channel id, nonce) -> message id of messages created with an enforced nonce.
        self.nonces: dict[tuple[int, str], int] = {}
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
        permissions: int | None = None,
        owner: bool = False,
    ) -> FakeMember:
        """Add (or replace) a guild member, creating the user when unknown.

        `permissions` gives the member a role of their own with those permissions; `owner`
        makes them the guild owner (all permissions).
        """
        user = self.add_user(user_id, username, bot=bot)
        member = FakeMember(user, guild_id, list(roles or []), nick)
        self.guilds[guild_id].members[user.id] = member
        if permissions is not None:
            member.roles.append(self.add_role(guild_id, f"{user.username} role", permissions).id)
        if owner:
            self.guilds[guild_id].owner_id = user.id
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
        if author is self.bot_user:
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
