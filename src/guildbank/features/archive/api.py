"""The archive under ``/api/guilds/{guild_id}/transactions`` (admin scope): archive old
history (seed 002's ``POST /transactions/archive``), list the archives, download one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from guildbank.api.deps import Admin, GuildId, RowId, api_state, read
from guildbank.api.idempotency import write
from guildbank.features.archive import queries, service, storage
from guildbank.features.archive.schemas import ArchiveFileOut, ArchiveIn, ArchiveOut
from guildbank.features.guilds.api import AdminKey, acting
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}/transactions", tags=["archive"])


@router.post(
    "/archive",
    response_model=ArchiveOut,
    responses={
        400: {"description": '`archive_required` ("archive": false)'},
        404: {"description": "Unknown guild (`guild_not_found`)"},
        409: {
            "description": "`archive_would_split`: kept rows point at transactions before "
            "the cut-off (a reversal, a refund, Idempotency-Key records); nothing changed"
        },
    },
)
async def archive(request: Request, guild_id: GuildId, body: ArchiveIn, key: AdminKey) -> Response:
    """Move the guild's ledger transactions older than ``days_to_keep`` days out of the hot
    tables into a compressed archive file, leaving a checkpoint per account (balances never
    change; the integrity check stays exact). A rerun archives only what is newly old.
    ``dry_run`` says what would move. Without an ``actor_id`` the API key's name is recorded."""
    directory = storage.archive_directory(api_state(request).settings)

    async def action(uow: UnitOfWork) -> ArchiveOut:
        return await service.archive(
            uow,
            guild_id=guild_id,
            days_to_keep=body.days_to_keep,
            directory=directory,
            actor_id=acting(body.actor_id, key),
            dry_run=body.dry_run,
            keep_history=body.archive,
        )

    return await write(request, guild_id, action)


@router.get("/archives", response_model=list[ArchiveFileOut], dependencies=[Admin])
async def list_archives(request: Request, guild_id: GuildId) -> Response:
    """The guild's archive files, newest first, each with its download URL."""

    async def action(uow: UnitOfWork) -> list[ArchiveFileOut]:
        await get_config(uow, guild_id)
        return await queries.list_archives(uow, guild_id=guild_id)

    return await read(request, action)


@router.get(
    "/archives/{archive_id}",
    response_model=ArchiveFileOut,
    dependencies=[Admin],
    responses={404: {"description": "`archive_not_found`"}},
)
async def get_archive(request: Request, guild_id: GuildId, archive_id: RowId) -> Response:
    async def action(uow: UnitOfWork) -> ArchiveFileOut:
        return await queries.get_archive(uow, guild_id=guild_id, archive_id=archive_id)

    return await read(request, action)


@router.get(
    "/archives/{archive_id}/download",
    dependencies=[Admin],
    response_class=FileResponse,
    responses={
        200: {"content": {"application/gzip": {}}, "description": "gzip of JSON lines"},
        404: {"description": "`archive_not_found`, or `archive_file_missing`"},
    },
)
async def download(request: Request, guild_id: GuildId, archive_id: RowId) -> Response:
    """The archive file as stored: gzip-compressed JSON lines (docs/archive.md): a header,
    one line per transaction with its entries, one per account (opening and closing balance),
    a footer with the counts."""
    state = api_state(request)
    async with unit_of_work(state.services, read_only=True) as uow:
        found = await queries.get_archive(uow, guild_id=guild_id, archive_id=archive_id)
        await uow.commit()
    path = storage.file_of(storage.archive_directory(state.settings), found.id, found.file_name)
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=path.name,
        headers={"X-Archive-SHA256": found.sha256},
    )
