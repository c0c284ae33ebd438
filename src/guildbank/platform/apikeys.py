"""Service API keys: shown once at creation, stored as SHA-256 (they are long random secrets,
so a fast hash is safe and keeps per-request verification cheap).

A key is global (an operator's, ``guild_ids`` NULL) or limited to some guilds (an
integrator's, created by a server admin in the dashboard or with ``--guild`` in the CLI): the
API refuses it on every other guild (``api.deps.authorize``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select

from guildbank.core.errors import InvalidInput, NotFound
from guildbank.core.ids import is_snowflake
from guildbank.platform.models.access import ApiKey
from guildbank.platform.models.guilds import Guild
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "ALL_SCOPES",
    "Principal",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "revoke_guild_key",
]

ALL_SCOPES = ("read", "write", "admin")
KEY_PREFIX = "gb"
MAX_KEY_GUILDS = 100


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a service key's id, name, scopes and guilds (None: every guild)."""

    key_id: int
    name: str
    scopes: frozenset[str]
    guild_ids: frozenset[str] | None = None

    def covers(self, guild_id: str) -> bool:
        return self.guild_ids is None or guild_id in self.guild_ids


def _principal(row: ApiKey) -> Principal:
    guilds = None if row.guild_ids is None else frozenset(map(str, row.guild_ids))
    return Principal(row.id, row.name, frozenset(row.scopes), guilds)


async def _checked_guilds(uow: UnitOfWork, guild_ids: Collection[str]) -> list[str]:
    """The guilds a scoped key names: Discord ids of registered guilds, at least one."""
    wanted = sorted(dict.fromkeys(str(g) for g in guild_ids))
    if not wanted or len(wanted) > MAX_KEY_GUILDS:
        raise InvalidInput(
            f"A guild-scoped key names 1 to {MAX_KEY_GUILDS} guilds.", code="invalid_guilds"
        )
    bad = [g for g in wanted if not is_snowflake(g)]
    if bad:
        raise InvalidInput(f"{bad[0]!r} is not a Discord id", code="invalid_id")
    known = set((await uow.session.execute(select(Guild.id).where(Guild.id.in_(wanted)))).scalars())
    missing = [g for g in wanted if g not in known]
    if missing:
        raise NotFound(f"Guild {missing[0]} is not registered", guild_id=missing[0])
    return wanted


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_api_key(
    uow: UnitOfWork,
    *,
    name: str,
    scopes: tuple[str, ...] = ALL_SCOPES,
    guild_ids: Collection[str] | None = None,
    created_by: str | None = None,
) -> tuple[Principal, str]:
    """A new key (global, or limited to ``guild_ids``); the plain token is returned once and
    never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A key needs a name of 1 to 100 characters.", code="invalid_name")
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown or not scopes:
        raise InvalidInput(f"Scopes must be among {', '.join(ALL_SCOPES)}.", code="invalid_scope")
    guilds = None if guild_ids is None else await _checked_guilds(uow, guild_ids)
    prefix = secrets.token_hex(6)
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash(token),
        scopes=sorted(set(scopes)),
        guild_ids=guilds,
        created_by=created_by,
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    return _principal(row), token


async def authenticate(uow: UnitOfWork, token: str) -> Principal | None:
    """The principal for a bearer token, or None when unknown, malformed or revoked."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    row = (
        await uow.session.execute(select(ApiKey).where(ApiKey.prefix == parts[1]))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(token)):
        return None
    return _principal(row)


async def list_api_keys(uow: UnitOfWork, *, guild_id: str | None = None) -> list[ApiKey]:
    """Every key, or (``guild_id``) the guild-scoped keys covering that guild."""
    rows = list((await uow.session.execute(select(ApiKey).order_by(ApiKey.id))).scalars())
    if guild_id is None:
        return rows
    return [r for r in rows if r.guild_ids is not None and guild_id in r.guild_ids]


async def revoke_api_key(uow: UnitOfWork, *, name_or_prefix: str) -> int:
    """Revoke every live key with that name or prefix; returns how many."""
    rows = (
        (
            await uow.session.execute(
                select(ApiKey).where(
                    (ApiKey.name == name_or_prefix) | (ApiKey.prefix == name_or_prefix),
                    ApiKey.revoked_at.is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        raise NotFound(f"No live API key named {name_or_prefix!r}")
    for row in rows:
        row.revoked_at = uow.now
    await uow.session.flush()
    return len(rows)


async def revoke_guild_key(uow: UnitOfWork, *, guild_id: str, key_id: int) -> ApiKey:
    """Revoke a key limited to exactly this guild (what a server admin may do); keys covering
    other guilds too are the operator's (``guildbank revoke-api-key``)."""
    row = await uow.session.get(ApiKey, key_id)
    if row is None or row.guild_ids is None or guild_id not in row.guild_ids:
        raise NotFound(f"No API key #{key_id} for this server")
    if list(row.guild_ids) != [guild_id]:
        raise InvalidInput(
            "This key also covers other servers: the operator revokes it with the CLI.",
            code="key_spans_guilds",
        )
    if row.revoked_at is None:
        row.revoked_at = uow.now
        await uow.session.flush()
    return row
