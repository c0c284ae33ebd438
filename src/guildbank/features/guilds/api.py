"""The guild itself under ``/api/guilds/{guild_id}``: registration (the bot calls ``PUT`` when it
joins a server) and the guild's settings, edited optimistically: ``GET`` answers an ``ETag``
with the settings' version, and a ``PUT`` with ``If-Match`` is refused (409 ``stale_version``)
when someone saved in between."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, Writer, read
from guildbank.api.errors import ApiError
from guildbank.api.idempotency import write
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import ConfigOut, ConfigUpdate, GuildIn, GuildOut
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.apikeys import Principal
from guildbank.platform.uow import UnitOfWork

__all__ = ["AdminKey", "IfMatch", "acting", "expected_version", "router"]

router = APIRouter(prefix="/guilds", tags=["guilds"])
_VERSION = re.compile(r'(?:W/)?"?(\d{1,9})"?')
IfMatch = Annotated[
    str | None,
    Header(
        description='The settings\' version you edited (their ETag, e.g. "3"): a newer '
        "version refuses the save with 409 stale_version",
        max_length=40,
    ),
]

# An admin-scope route parameter: the calling key, whose name is recorded as who acted. The
# same dependency as ``Admin``, so a route listing both checks the key once, in that order.
AdminKey = Annotated[Principal, Admin]


def acting(actor_id: str | None, key: Principal) -> str:
    """Who acted: the Discord user the caller names, else the API key (``key:<name>``; the
    ledger's actor column holds 32 characters)."""
    return actor_id or f"key:{key.name}"[:32]


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names; None when absent or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _VERSION.fullmatch(if_match.strip())
    if found is None:
        raise ApiError(400, "invalid_if_match", 'If-Match takes a version ETag, e.g. "3"')
    return int(found.group(1))


@router.put(
    "/{guild_id}",
    response_model=GuildOut,
    dependencies=[Writer],
    summary="Register a guild (idempotent; creates default settings on first call)",
)
async def put_guild(request: Request, guild_id: GuildId, body: GuildIn | None = None) -> Response:
    name = body.name if body is not None else ""

    async def action(uow: UnitOfWork) -> GuildOut:
        created = await register_guild(uow, guild_id=guild_id, name=name)
        return GuildOut(id=guild_id, name=name, created=created)

    return await write(request, guild_id, action)


def _with_etag(response: Response, versions: list[int]) -> Response:
    if versions:  # a replayed idempotent write ran no action: no version to tell
        response.headers["ETag"] = f'"{versions[-1]}"'
    return response


@router.get("/{guild_id}/settings", response_model=ConfigOut)
async def get_settings(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """Every setting of the guild (economy, feature toggles, staff roles, channels) and its
    version, also sent as the ``ETag``."""
    versions: list[int] = []

    async def action(uow: UnitOfWork) -> ConfigOut:
        config = await get_config(uow, guild_id)
        versions.append(config.version)
        return ConfigOut.model_validate(config)

    return _with_etag(await read(request, action), versions)


@router.put(
    "/{guild_id}/settings",
    response_model=ConfigOut,
    dependencies=[Admin],
    responses={
        400: {"description": "A setting names a channel or role the guild does not have"},
        409: {"description": "stale_version (If-Match), or a role the bot cannot grant"},
    },
)
async def put_settings(
    request: Request,
    guild_id: GuildId,
    body: ConfigUpdate,
    key: AdminKey,
    if_match: IfMatch = None,
) -> Response:
    """Change some settings; the others keep their values. The API key's name is recorded as
    who changed them (admin log, log channel)."""
    expected = expected_version(if_match)
    versions: list[int] = []

    async def action(uow: UnitOfWork) -> ConfigOut:
        config = await update_config(
            uow,
            guild_id=guild_id,
            changes=body.changes(),
            actor_id=acting(None, key),
            expected_version=expected,
        )
        versions.append(config.version)
        return ConfigOut.model_validate(config)

    return _with_etag(await write(request, guild_id, action), versions)
