"""Import pages: upload the seed bot's files for this server (a zip, or the JSON files) and
see the report; the runs so far; the old bot's history as imported (read-only)."""

from __future__ import annotations

import asyncio

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from guildbank.core.errors import GuildbankError
from guildbank.features.guilds.permissions import Level
from guildbank.features.imports import queries
from guildbank.features.imports.errors import NothingToImport
from guildbank.features.imports.importer import ImportReport
from guildbank.features.imports.schemas import FILES, parse_guild
from guildbank.features.imports.service import run_guild
from guildbank.features.imports.sources import MAX_FILE_BYTES, read_upload
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

HISTORY_SIZE = 50


async def _page(
    ctx: Ctx,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        runs = await queries.list_runs(uow, guild_id=ctx.guild_id)
        await uow.commit()
    return await ctx.render(
        "import.html",
        nav="import",
        runs=runs,
        report=report,
        error=error,
        files=FILES,
        status=status,
    )


async def show(ctx: Ctx) -> Response:
    return await _page(ctx)


async def _uploads(ctx: Ctx) -> list[tuple[str, bytes]]:
    assert ctx.form is not None
    found: list[tuple[str, bytes]] = []
    total = 0
    try:
        for value in ctx.form.getlist("files"):
            if not isinstance(value, UploadFile) or not value.filename:
                continue
            raw = await value.read(MAX_FILE_BYTES + 1)
            total += len(raw)
            if total > MAX_FILE_BYTES:
                msg = f"The upload is larger than {MAX_FILE_BYTES // 2**20} MiB."
                raise NothingToImport(msg)
            found.append((value.filename, raw))
    finally:
        await ctx.form.close()  # the spooled temporary files
    if not found:
        msg = f"Choose a zip, or the files {', '.join(FILES)}."
        raise NothingToImport(msg)
    return found


async def upload(ctx: Ctx) -> Response:
    try:
        source = read_upload(ctx.guild_id, await _uploads(ctx))
        # Validating thousands of records is CPU work: off the event loop.
        parsed = await asyncio.to_thread(
            parse_guild, ctx.guild_id, source.files, source=source.source
        )
        report = await run_guild(ctx.state.services, parsed, actor_id=ctx.actor)
    except GuildbankError as error:
        return await _page(ctx, error=error.message, status=400)
    return await _page(ctx, report=report)


async def history(ctx: Ctx) -> Response:
    paging = ctx.paging(HISTORY_SIZE)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        found = await queries.history_page(
            uow, guild_id=ctx.guild_id, page=paging.number, per_page=paging.size
        )
        await uow.commit()
    await ctx.lookup_people([line.user_id for line in found.items])
    return await ctx.render(
        "imported_history.html",
        nav="import",
        lines=found.items,
        total=found.total,
        page=paging.number,
        pages=paging.count(found.total),
    )


routes: list[BaseRoute] = [
    Route("/guilds/{guild_id}/import", page(show), methods=["GET"], name="import"),
    Route("/guilds/{guild_id}/import", page(upload), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/import/history",
        page(history, level=Level.MODERATOR),
        methods=["GET"],
        name="imported_history",
    ),
]
