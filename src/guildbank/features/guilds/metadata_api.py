"""The channels and roles of a guild under ``/api/guilds/{guild_id}``, as the bot reports them
(``write`` scope): ``PUT …/metadata`` replaces the full lists when the guild becomes available,
``PUT``/``DELETE …/channels/{id}`` and ``…/roles/{id}`` follow the gateway's events. All
idempotent. ``GET …/metadata`` is what pickers and integrators read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import AfterValidator

from guildbank.api.deps import Caller, GuildId, Writer, read
from guildbank.api.errors import ApiError
from guildbank.api.idempotency import write
from guildbank.core.ids import SNOWFLAKE_PATTERN, is_snowflake
from guildbank.core.schemas import Out
from guildbank.features.guilds import metadata
from guildbank.features.guilds.catalog import load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.schemas import (
    ChannelIn,
    GuildMetadataIn,
    GuildMetadataOut,
    RoleIn,
)
from guildbank.platform.uow import UnitOfWork

__all__ = ["ItemOut", "router"]

router = APIRouter(prefix="/guilds/{guild_id}", tags=["guilds"])


def _snowflake(value: str) -> str:
    if not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


ItemId = Annotated[
    str,
    Path(pattern=SNOWFLAKE_PATTERN, max_length=20, description="A Discord id"),
    AfterValidator(_snowflake),
]


class ItemOut(Out):
    id: str
    # After a DELETE: False when the id was unknown or already deleted (idempotent).
    deleted: bool


# A well-formed body naming another item than the path: a 400, as a schema cannot say it.
MISMATCH: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body's id is not the path's (`id_mismatch`)"}
}


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise ApiError(400, "id_mismatch", "The body's id must match the path's id")


@router.get("/metadata", response_model=GuildMetadataOut)
async def get_metadata(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """The guild's channels and roles (deleted ones marked), with ``synced`` telling whether
    the bot has reported the full lists yet (until then ids are not checked)."""

    async def action(uow: UnitOfWork) -> GuildMetadataOut:
        await get_config(uow, guild_id)
        return (await load_catalog(uow, guild_id)).as_out()

    return await read(request, action)


@router.put("/metadata", response_model=GuildMetadataOut, dependencies=[Writer])
async def put_metadata(request: Request, guild_id: GuildId, body: GuildMetadataIn) -> Response:
    """Replace the full lists: channels and roles not listed are marked deleted."""

    async def action(uow: UnitOfWork) -> GuildMetadataOut:
        await metadata.replace_metadata(
            uow, guild_id=guild_id, channels=body.channels, roles=body.roles
        )
        return (await load_catalog(uow, guild_id)).as_out()

    return await write(request, guild_id, action)


@router.put(
    "/channels/{channel_id}", response_model=ItemOut, dependencies=[Writer], responses=MISMATCH
)
async def put_channel(
    request: Request, guild_id: GuildId, channel_id: ItemId, body: ChannelIn
) -> Response:
    """A channel was created or changed."""
    _same_id(channel_id, body.id)

    async def action(uow: UnitOfWork) -> ItemOut:
        await metadata.upsert_channel(uow, guild_id=guild_id, channel=body)
        return ItemOut(id=channel_id, deleted=False)

    return await write(request, guild_id, action)


@router.delete("/channels/{channel_id}", response_model=ItemOut, dependencies=[Writer])
async def delete_channel(request: Request, guild_id: GuildId, channel_id: ItemId) -> Response:
    """A channel was deleted (its name is kept, for pages naming old settings)."""

    async def action(uow: UnitOfWork) -> ItemOut:
        done = await metadata.delete_channel(uow, guild_id=guild_id, channel_id=channel_id)
        return ItemOut(id=channel_id, deleted=done)

    return await write(request, guild_id, action)


@router.put("/roles/{role_id}", response_model=ItemOut, dependencies=[Writer], responses=MISMATCH)
async def put_role(request: Request, guild_id: GuildId, role_id: ItemId, body: RoleIn) -> Response:
    """A role was created or changed."""
    _same_id(role_id, body.id)

    async def action(uow: UnitOfWork) -> ItemOut:
        await metadata.upsert_role(uow, guild_id=guild_id, role=body)
        return ItemOut(id=role_id, deleted=False)

    return await write(request, guild_id, action)


@router.delete("/roles/{role_id}", response_model=ItemOut, dependencies=[Writer])
async def delete_role(request: Request, guild_id: GuildId, role_id: ItemId) -> Response:
    """A role was deleted (its name is kept)."""

    async def action(uow: UnitOfWork) -> ItemOut:
        done = await metadata.delete_role(uow, guild_id=guild_id, role_id=role_id)
        return ItemOut(id=role_id, deleted=done)

    return await write(request, guild_id, action)
