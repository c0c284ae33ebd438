"""Dashboard sessions: server-side records behind a signed, HttpOnly session-id cookie.

The cookie carries only a random id signed with ``GUILDBANK_SECRET_KEY`` (itsdangerous), so a
forged or tampered cookie is rejected before any lookup, and logging out really ends the
session everywhere. Records live in process memory (the embedded mode) or in Redis when
``GUILDBANK_REDIS_URL`` is set, so every web worker sees the same sessions. Each session has
its own CSRF token; forms carry it and every POST is checked against it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import orjson
import redis.asyncio as redis
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "COOKIE",
    "MemorySessionStore",
    "RedisSessionStore",
    "Session",
    "SessionCodec",
    "SessionStore",
]

COOKIE = "gb_session"
SessionKind = Literal["local", "discord"]


@dataclass
class Session:
    """Who is logged in, their CSRF token and (Discord users) their last verified guilds."""

    id: str
    kind: SessionKind
    user_id: str
    username: str
    avatar_url: str | None
    csrf: str
    expires_at: float
    access_token: str | None = None
    guilds: dict[str, str] = field(default_factory=dict)
    # Of ``guilds``, those where the user is only a moderator (web.state.Access).
    moderated: list[str] = field(default_factory=list)
    guilds_checked_at: float = 0.0
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        *,
        kind: SessionKind,
        user_id: str,
        username: str,
        lifetime_seconds: float,
        avatar_url: str | None = None,
        access_token: str | None = None,
    ) -> Session:
        return cls(
            id=secrets.token_urlsafe(32),
            kind=kind,
            user_id=user_id,
            username=username,
            avatar_url=avatar_url,
            csrf=secrets.token_urlsafe(32),
            expires_at=time.time() + lifetime_seconds,
            access_token=access_token,
        )

    @property
    def actor_id(self) -> str | None:
        """The Discord id recorded as the actor of ledger writes (None for the local admin)."""
        return self.user_id if self.kind == "discord" else None

    @property
    def actor(self) -> str:
        """Who acted, as the admin log and the ledger's ``actor_id`` record it: the Discord
        user's id, or ``local:<name>`` for the local admin (never blank: every admin action
        names its author)."""
        return self.user_id if self.kind == "discord" else f"local:{self.username}"[:32]

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())

    def flash(self, level: str, message: str) -> None:
        self.flashes.append((level, message))


class SessionStore(Protocol):
    async def get(self, session_id: str) -> Session | None: ...

    async def save(self, session: Session) -> None: ...

    async def delete(self, session_id: str) -> None: ...

    async def close(self) -> None: ...


def _encode(session: Session) -> bytes:
    return orjson.dumps(asdict(session))


def _decode(raw: bytes) -> Session:
    data = orjson.loads(raw)
    data["flashes"] = [tuple(f) for f in data.get("flashes", [])]
    return Session(**data)


class MemorySessionStore:
    """One process's sessions (embedded mode); expired ones are dropped as they are met."""

    def __init__(self) -> None:
        self._items: dict[str, bytes] = {}

    async def get(self, session_id: str) -> Session | None:
        raw = self._items.get(session_id)
        if raw is None:
            return None
        session = _decode(raw)
        if session.expires_at < time.time():
            self._items.pop(session_id, None)
            return None
        return session

    async def save(self, session: Session) -> None:
        self._items[session.id] = _encode(session)

    async def delete(self, session_id: str) -> None:
        self._items.pop(session_id, None)

    async def close(self) -> None:
        self._items.clear()


class RedisSessionStore:
    """Sessions shared by every web worker; Redis expires them with the session."""

    PREFIX = "guildbank:session:"

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.get(self.PREFIX + session_id)
        if raw is None:
            return None
        session = _decode(raw.encode() if isinstance(raw, str) else raw)
        return session if session.expires_at >= time.time() else None

    async def save(self, session: Session) -> None:
        ttl = max(1, int(session.expires_at - time.time()))
        await self._redis.set(self.PREFIX + session.id, _encode(session), ex=ttl)

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self.PREFIX + session_id)

    async def close(self) -> None:
        await self._redis.aclose()


class SessionCodec:
    """Signs values put in cookies (the session id, the login CSRF and OAuth state nonces)."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="guildbank.dashboard")

    def sign(self, value: str, purpose: str) -> str:
        return self._serializer.dumps([purpose, value])

    def unsign(self, signed: str | None, purpose: str, max_age: float) -> str | None:
        """The value, or None when missing, tampered with, expired or meant for another use."""
        if not signed:
            return None
        try:
            found_purpose, value = self._serializer.loads(signed, max_age=int(max_age))
        except (BadSignature, ValueError, TypeError):
            return None
        return str(value) if found_purpose == purpose else None
