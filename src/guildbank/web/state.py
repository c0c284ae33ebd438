"""What the dashboard keeps per process, and who may see which server.

Access is decided on every request: the local admin sees every registered server; a Discord
user sees the servers they own or hold Administrator / Manage Server in, or where they hold one
of the server's admin roles (their roles read with the bot token), re-read from Discord with
their OAuth token when the last check is older than ``dashboard_access_cache_seconds``. A
holder of a moderator role sees that server too, at the moderator level (``web.guard`` lets
moderators open the pages marked for them: reading, no changes).
When Discord cannot be asked, the last verified list is trusted for a short grace period and
then access is refused (fail closed).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

import httpx
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import staff_roles
from guildbank.platform.ratelimit import SharedLimiter
from guildbank.platform.uow import Services, unit_of_work
from guildbank.settings import Settings
from guildbank.web.discord import DiscordDirectory, DiscordOAuth, OAuthFailed, manageable_guilds
from guildbank.web.sessions import (
    COOKIE,
    MemorySessionStore,
    RedisSessionStore,
    Session,
    SessionCodec,
    SessionStore,
)

__all__ = ["Access", "AccessUnavailable", "DashboardState", "SessionEnded"]

log = structlog.get_logger(__name__)

ACCESS_GRACE_SECONDS = 300.0
DISCORD_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Access:
    """The servers a session may see: every one (local admin) or these ids with their names."""

    every_guild: bool
    guilds: dict[str, str]
    # Of ``guilds``, those where the user is only a moderator.
    moderated: frozenset[str] = frozenset()

    def allows(self, guild_id: str) -> bool:
        return self.every_guild or guild_id in self.guilds

    def level(self, guild_id: str) -> Level:
        """The user's level in that server (the local admin, the operator, is an admin)."""
        if self.every_guild:
            return Level.ADMIN
        if guild_id not in self.guilds:
            return Level.MEMBER
        return Level.MODERATOR if guild_id in self.moderated else Level.ADMIN

    @property
    def guild_ids(self) -> frozenset[str] | None:
        return None if self.every_guild else frozenset(self.guilds)


class AccessUnavailable(Exception):
    """Discord could not confirm the user's permissions and the last check is too old."""


class SessionEnded(Exception):
    """Discord no longer accepts the user's token: the session is over."""


class DashboardState:
    """Settings, services, sessions and Discord clients of the dashboard in one process."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.codec = SessionCodec(settings.secret_key.get_secret_value())
        self.sessions: SessionStore = (
            RedisSessionStore(settings.redis_url) if settings.redis_url else MemorySessionStore()
        )
        self.session_seconds = settings.dashboard_session_hours * 3600
        self.secure_cookies = settings.env == "production"
        self._http_client: httpx.AsyncClient | None = None
        self.directory = DiscordDirectory(
            self.http,
            settings.discord_token.get_secret_value(),
            settings.discord_cache_seconds,
            access_ttl=settings.dashboard_access_cache_seconds,
        )
        self.oauth = DiscordOAuth(
            self.http,
            settings.discord_api_url,
            settings.discord_client_id,
            settings.discord_client_secret.get_secret_value(),
        )
        self._hasher = PasswordHasher()
        password = settings.admin_password.get_secret_value()
        # Hashed once at start; the plain password is never compared or kept here.
        self._admin_hash = (
            self._hasher.hash(password) if settings.admin_username and password else None
        )
        self._decoy_hash: str | None = None
        self.login_limit = RateLimitItemPerMinute(max(1, settings.login_attempts_per_minute))
        self._limits = SharedLimiter(self.settings.redis_url)

    @property
    def local_login_enabled(self) -> bool:
        return self._admin_hash is not None

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        return self._limits.limiter

    def http(self) -> httpx.AsyncClient:
        """The client for Discord's REST API, opened on first use (closed by ``close``)."""
        if self._http_client is None:
            self._http_client = httpx.AsyncClient(
                base_url=self.settings.discord_api_url, timeout=DISCORD_TIMEOUT_SECONDS
            )
        return self._http_client

    async def close(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
        await self.sessions.close()
        await self._limits.close()

    # -- authentication -----------------------------------------------------------------------

    def verify_local_admin(self, username: str, password: str) -> bool:
        """Check against the argon2 hash; an unknown username costs the same time."""
        expected = self.settings.admin_username
        name_ok = bool(expected) and hmac.compare_digest(username.encode(), expected.encode())
        if self._decoy_hash is None:
            self._decoy_hash = self._hasher.hash("decoy: unknown usernames cost the same time")
        target = self._admin_hash if name_ok and self._admin_hash else self._decoy_hash
        try:
            self._hasher.verify(target, password)
        except VerificationError:
            return False
        return name_ok and target is self._admin_hash

    async def session_of(self, request: Request) -> Session | None:
        """The live session named by the request's signed cookie, if any."""
        session_id = self.codec.unsign(request.cookies.get(COOKIE), "session", self.session_seconds)
        if session_id is None:
            return None
        return await self.sessions.get(session_id)

    async def access_for(self, session: Session) -> Access:
        """The servers this session may act on, verified with Discord when the check is stale."""
        if session.kind == "local":
            return Access(every_guild=True, guilds={})
        age = time.time() - session.guilds_checked_at
        stored = Access(False, dict(session.guilds), frozenset(session.moderated))
        if age < self.settings.dashboard_access_cache_seconds:
            return stored
        assert session.access_token is not None
        try:
            access = await self.verified_guilds(
                session.access_token,
                session.user_id,
                previous=stored if age < ACCESS_GRACE_SECONDS else None,
            )
        except OAuthFailed as error:
            if error.token_rejected:
                await self.sessions.delete(session.id)
                raise SessionEnded(str(error)) from error
            log.warning("could not re-check dashboard permissions", error=str(error))
            if age < ACCESS_GRACE_SECONDS:
                return stored
            raise AccessUnavailable(str(error)) from error
        session.guilds, session.moderated = access.guilds, sorted(access.moderated)
        session.guilds_checked_at = time.time()
        await self.sessions.save(session)
        return access

    async def verified_guilds(
        self, access_token: str, user_id: str, *, previous: Access | None = None
    ) -> Access:
        """The user's servers, read from Discord now: owner, Administrator or Manage Server, or
        holding one of the guild's admin roles (admin level) or moderator roles (moderator
        level). When Discord cannot tell a member's roles, a guild in ``previous`` (a recent
        check) keeps its level; otherwise it is refused."""
        listed = await self.oauth.guild_list(access_token)
        allowed = manageable_guilds(listed)
        others = {
            str(g["id"]): str(g.get("name", g["id"])) for g in listed if str(g["id"]) not in allowed
        }
        if not others:
            return Access(False, allowed)
        async with unit_of_work(self.services, read_only=True) as uow:
            wanted = await staff_roles(uow, others)
            await uow.commit()

        async def level_in(guild_id: str, admins: frozenset[str], mods: frozenset[str]) -> Level:
            held = await self.directory.member_roles(guild_id, user_id)
            if held is None:
                return Level.MEMBER if previous is None else previous.level(guild_id)
            if not held.isdisjoint(admins):
                return Level.ADMIN
            return Level.MODERATOR if not held.isdisjoint(mods) else Level.MEMBER

        checks = list(wanted.items())
        levels = await asyncio.gather(*(level_in(g, *roles) for g, roles in checks))
        moderated = set()
        for (guild_id, _), level in zip(checks, levels, strict=True):
            if level >= Level.MODERATOR:
                allowed[guild_id] = others[guild_id]
            if level == Level.MODERATOR:
                moderated.add(guild_id)
        return Access(False, allowed, frozenset(moderated))
