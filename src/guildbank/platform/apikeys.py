"""Service API keys: shown once at creation, stored as SHA-256 (they are long random secrets,
so a fast hash is safe and keeps per-request verification cheap)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from guildbank.core.errors import InvalidInput, NotFound
from guildbank.platform.models.access import ApiKey
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "ALL_SCOPES",
    "Principal",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
]

ALL_SCOPES = ("read", "write", "admin")
KEY_PREFIX = "gb"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a service key's id, name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_api_key(
    uow: UnitOfWork, *, name: str, scopes: tuple[str, ...] = ALL_SCOPES
) -> tuple[Principal, str]:
    """A new key; the plain token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A key needs a name of 1 to 100 characters.", code="invalid_name")
    unknown = set(scopes) - set(ALL_SCOPES)
    if unknown or not scopes:
        raise InvalidInput(f"Scopes must be among {', '.join(ALL_SCOPES)}.", code="invalid_scope")
    prefix = secrets.token_hex(6)
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash(token),
        scopes=sorted(set(scopes)),
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    return Principal(row.id, name, frozenset(row.scopes)), token


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
    return Principal(row.id, row.name, frozenset(row.scopes))


async def list_api_keys(uow: UnitOfWork) -> list[ApiKey]:
    return list((await uow.session.execute(select(ApiKey).order_by(ApiKey.id))).scalars())


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
