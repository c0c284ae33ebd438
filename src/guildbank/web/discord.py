"""What the dashboard asks Discord: names, avatars and roles (bot token), and the
OAuth2 code flow with a user's guild permissions (user token).

Channels and roles are what the bot reports (stored by the guilds feature, read first by the
pickers); the lookups here go to Discord's REST API, kept in a short per-process cache, for
what the bot has not reported yet and for members' names. Without a bot token, or when Discord
fails, lookups answer empty and the pages show ids instead of names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from guildbank.platform.cache import TtlCache

__all__ = [
    "ADMINISTRATOR",
    "MANAGE_GUILD",
    "DiscordDirectory",
    "DiscordMember",
    "DiscordOAuth",
    "DiscordRole",
    "OAuthFailed",
    "OAuthIdentity",
    "manageable_guilds",
]

log = structlog.get_logger(__name__)

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MEMBER_LIST_LIMIT = 1000
CONCURRENT_LOOKUPS = 8
CDN = "https://cdn.discordapp.com"


@dataclass(frozen=True, slots=True)
class DiscordMember:
    user_id: str
    name: str
    avatar_url: str | None
    role_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DiscordRole:
    id: str
    name: str
    color: int
    position: int


def _member_from(payload: dict[str, Any]) -> DiscordMember:
    user = payload.get("user", payload)
    user_id = str(user["id"])
    avatar = user.get("avatar")
    return DiscordMember(
        user_id=user_id,
        name=payload.get("nick") or user.get("global_name") or user.get("username") or user_id,
        avatar_url=f"{CDN}/avatars/{user_id}/{avatar}.png?size=64" if avatar else None,
        role_ids=tuple(str(r) for r in payload.get("roles", ())),
    )


class DiscordDirectory:
    """Bot-token lookups with a short cache; every failure degrades to "unknown"."""

    def __init__(
        self,
        http: Callable[[], httpx.AsyncClient],
        bot_token: str,
        ttl: float,
        *,
        access_ttl: float | None = None,
    ) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bot {bot_token}"}
        # Values are wrapped in a 1-tuple so that "Discord failed" (None) is cached too.
        self._cache: TtlCache[tuple[str, tuple[tuple[str, Any], ...]], tuple[Any]] = TtlCache(ttl)
        # Roles read for permission checks live no longer than the access check itself.
        self._access: TtlCache[tuple[str, str], frozenset[str]] = TtlCache(
            ttl if access_ttl is None else min(ttl, access_ttl)
        )
        self.enabled = bool(bot_token)

    async def _get(self, path: str, **params: Any) -> Any:
        """GET a bot endpoint; None when disabled or Discord fails (logged)."""
        if not self.enabled:
            return None
        key = (path, tuple(sorted(params.items())))
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        try:
            response = await self._http().get(path, params=params, headers=self._headers)
            value = response.json() if response.status_code == 200 else None
            if value is None:
                log.info("discord lookup refused", path=path, status=response.status_code)
        except (httpx.HTTPError, ValueError) as error:
            log.warning("discord lookup failed", path=path, error=repr(error))
            value = None
        self._cache.put(key, (value,))
        return value

    async def guild_name(self, guild_id: str) -> str | None:
        guild = await self._get(f"/guilds/{guild_id}")
        return str(guild["name"]) if isinstance(guild, dict) and "name" in guild else None

    async def roles(self, guild_id: str) -> dict[str, DiscordRole]:
        """The guild's roles by id, highest first (without @everyone)."""
        roles = await self._get(f"/guilds/{guild_id}/roles")
        if not isinstance(roles, list):
            return {}
        found = [
            DiscordRole(str(r["id"]), str(r["name"]), int(r.get("color", 0)), int(r["position"]))
            for r in roles
            if str(r["id"]) != guild_id
        ]
        return {r.id: r for r in sorted(found, key=lambda r: -r.position)}

    async def _member_list(self, guild_id: str) -> dict[str, DiscordMember]:
        listed = await self._get(f"/guilds/{guild_id}/members", limit=MEMBER_LIST_LIMIT)
        if not isinstance(listed, list):
            return {}
        return {m.user_id: m for m in (_member_from(p) for p in listed)}

    async def members(self, guild_id: str, user_ids: list[str]) -> dict[str, DiscordMember]:
        """Names and avatars of these members (missing ones are simply absent)."""
        if not self.enabled or not user_ids:
            return {}
        listed = await self._member_list(guild_id)
        found = {u: listed[u] for u in user_ids if u in listed}
        missing = [u for u in dict.fromkeys(user_ids) if u not in listed]
        gate = asyncio.Semaphore(CONCURRENT_LOOKUPS)

        async def one(user_id: str) -> None:
            async with gate:
                payload = await self._get(f"/guilds/{guild_id}/members/{user_id}")
            if isinstance(payload, dict) and "user" in payload:
                found[user_id] = _member_from(payload)

        await asyncio.gather(*(one(u) for u in missing))
        return found

    async def member_roles(self, guild_id: str, user_id: str) -> frozenset[str] | None:
        """The member's role ids for a permission check: empty when they are not a member,
        None when Discord cannot say (no bot token, an outage); failures are not cached."""
        if not self.enabled:
            return None
        cached = self._access.get((guild_id, user_id))
        if cached is not None:
            return cached
        path = f"/guilds/{guild_id}/members/{user_id}"
        try:
            response = await self._http().get(path, headers=self._headers)
            payload = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("discord member lookup failed", path=path, error=repr(error))
            return None
        if response.status_code == 404:
            roles: frozenset[str] = frozenset()
        elif isinstance(payload, dict):
            roles = frozenset(_member_from(payload).role_ids)
        else:
            log.warning("discord member lookup refused", path=path, status=response.status_code)
            return None
        self._access.put((guild_id, user_id), roles)
        return roles

    async def search(self, guild_id: str, query: str, limit: int = 100) -> list[str] | None:
        """User ids whose name starts with ``query``; None when Discord cannot be asked."""
        found = await self._get(f"/guilds/{guild_id}/members/search", query=query, limit=limit)
        if not isinstance(found, list):
            return None
        return [_member_from(p).user_id for p in found]


@dataclass(frozen=True, slots=True)
class OAuthIdentity:
    user_id: str
    username: str
    avatar_url: str | None
    access_token: str


class OAuthFailed(Exception):
    """Discord refused the code, the token or the guild list (or could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def token_rejected(self) -> bool:
        """Discord no longer accepts the user's token (revoked or expired)."""
        return self.status == 401


def manageable_guilds(guilds: list[dict[str, Any]]) -> dict[str, str]:
    """Guilds the user owns or holds Administrator / Manage Server in: {id: name}."""
    allowed: dict[str, str] = {}
    for guild in guilds:
        permissions = int(guild.get("permissions", 0))
        if guild.get("owner") or permissions & (ADMINISTRATOR | MANAGE_GUILD):
            allowed[str(guild["id"])] = str(guild.get("name", guild["id"]))
    return allowed


class DiscordOAuth:
    """The authorization-code flow against ``GUILDBANK_DISCORD_API_URL``'s OAuth2 endpoints."""

    SCOPES = "identify guilds"

    def __init__(
        self,
        http: Callable[[], httpx.AsyncClient],
        api_url: str,
        client_id: str,
        client_secret: str,
    ) -> None:
        self._http = http
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.enabled = bool(client_id and client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        query = httpx.QueryParams(
            client_id=self.client_id,
            response_type="code",
            scope=self.SCOPES,
            redirect_uri=redirect_uri,
            state=state,
            prompt="none",
        )
        return f"{self.api_url}/oauth2/authorize?{query}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http().request(method, f"{self.api_url}{path}", **kwargs)
        except httpx.HTTPError as error:
            raise OAuthFailed(f"Discord could not be reached: {error!r}") from error
        if response.status_code != 200:
            raise OAuthFailed(
                f"Discord answered {response.status_code} to {path}", status=response.status_code
            )
        return response.json()

    async def exchange(self, *, code: str, redirect_uri: str) -> OAuthIdentity:
        """Trade the code for a token and read who logged in."""
        token = await self._call(
            "POST",
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "client_secret": self._secret,
            },
        )
        access_token = str(token["access_token"])
        me = await self._call(
            "GET", "/users/@me", headers={"Authorization": f"Bearer {access_token}"}
        )
        member = _member_from(me)
        return OAuthIdentity(member.user_id, member.name, member.avatar_url, access_token)

    async def guild_list(self, access_token: str) -> list[dict[str, Any]]:
        """Every guild the user is in, with their permissions, read from Discord now."""
        listed = await self._call(
            "GET", "/users/@me/guilds", headers={"Authorization": f"Bearer {access_token}"}
        )
        if not isinstance(listed, list):
            raise OAuthFailed("Discord's guild list was not a list")
        return [g for g in listed if isinstance(g, dict) and "id" in g]

    async def guilds(self, access_token: str) -> dict[str, str]:
        """The user's manageable guilds, read from Discord now (no cache here)."""
        return manageable_guilds(await self.guild_list(access_token))
