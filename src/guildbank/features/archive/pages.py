"""The archive page (``/admin/guilds/{g}/archive``, admins): the guild's archive files with
download links, and a form to preview or archive history older than N days (typed
confirmation)."""

from __future__ import annotations

from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from guildbank.core.errors import GuildbankError
from guildbank.features.archive import queries, service, storage
from guildbank.features.archive.rules import CONFIRMATION, MAX_DAYS_TO_KEEP, MIN_DAYS_TO_KEEP
from guildbank.features.archive.schemas import ArchiveOut
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

DEFAULT_DAYS = 90
MAX_ID_DIGITS = 18


async def _page(
    ctx: Ctx,
    *,
    days_to_keep: str = str(DEFAULT_DAYS),
    preview: ArchiveOut | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        archives = await queries.list_archives(uow, guild_id=ctx.guild_id)
        await uow.commit()
    return await ctx.render(
        "archive.html",
        nav="archive",
        archives=archives,
        preview=preview,
        error=error,
        days_to_keep=days_to_keep,
        confirmation=CONFIRMATION,
        min_days=MIN_DAYS_TO_KEEP,
        max_days=MAX_DAYS_TO_KEEP,
        status=status,
    )


async def show(ctx: Ctx) -> Response:
    return await _page(ctx)


async def submit(ctx: Ctx) -> Response:
    raw = ctx.field("days_to_keep")
    days = parse_whole(raw, max_digits=6)
    if days is None or not MIN_DAYS_TO_KEEP <= days <= MAX_DAYS_TO_KEEP:
        message = (
            f"Days to keep must be a whole number from {MIN_DAYS_TO_KEEP} to {MAX_DAYS_TO_KEEP}."
        )
        return await _page(ctx, days_to_keep=raw, error=message, status=400)
    dry_run = ctx.field("go") != "yes"
    if not dry_run and ctx.field("confirm") != CONFIRMATION:
        message = f"Type {CONFIRMATION} to confirm the archive (nothing was archived)."
        return await _page(ctx, days_to_keep=raw, error=message, status=400)
    directory = storage.archive_directory(ctx.state.settings)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await service.archive(
                uow,
                guild_id=ctx.guild_id,
                days_to_keep=days,
                directory=directory,
                actor_id=ctx.actor,
                dry_run=dry_run,
            )
            await uow.commit()
    except GuildbankError as error:
        return await _page(ctx, days_to_keep=raw, error=error.message, status=409)
    if dry_run:
        return await _page(ctx, days_to_keep=raw, preview=result)
    if result.archive is None:
        flash = ("ok", "Nothing was older than the cut-off: nothing to archive.")
    else:
        flash = (
            "ok",
            f"Archived {result.transactions} transactions (#{result.first_transaction_id} to "
            f"#{result.last_transaction_id}) into archive #{result.archive.id}.",
        )
    return await ctx.redirect(f"{ctx.base}/archive", flash=flash)


async def download(ctx: Ctx) -> Response:
    found_id = parse_whole(str(ctx.request.path_params["archive_id"]), max_digits=MAX_ID_DIGITS)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        found = await queries.get_archive(uow, guild_id=ctx.guild_id, archive_id=found_id or 0)
        await uow.commit()
    path = storage.file_of(storage.archive_directory(ctx.state.settings), found.id, found.file_name)
    return FileResponse(path, media_type="application/gzip", filename=path.name)


routes: list[BaseRoute] = [
    Route("/guilds/{guild_id}/archive", page(show), methods=["GET"], name="archive"),
    Route("/guilds/{guild_id}/archive", page(submit), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/archive/{archive_id}/download",
        page(download),
        methods=["GET"],
        name="archive_download",
    ),
]
