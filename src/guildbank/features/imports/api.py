"""The importer under ``/api/guilds/{guild_id}``: the old bot's history as imported
(read-only, paged) and the import runs with their reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import Caller, GuildId, read
from guildbank.core.ids import SNOWFLAKE_PATTERN
from guildbank.features.imports import queries
from guildbank.features.imports.schemas import HistoryPage, ImportRunOut
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/guilds/{guild_id}", tags=["imports"])
MAX_PAGE = 1_000_000


@router.get(
    "/imported-history",
    response_model=HistoryPage,
    responses={404: {"description": "Unknown guild (`guild_not_found`)"}},
)
async def imported_history(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    user_id: Annotated[str | None, Query(pattern=SNOWFLAKE_PATTERN, max_length=20)] = None,
) -> Response:
    """The old bot's transaction log as imported: read-only history, not ledger entries (the
    opening balances are the ledger's ``import`` transactions), in the file's order."""

    async def action(uow: UnitOfWork) -> HistoryPage:
        return await queries.history_page(
            uow, guild_id=guild_id, page=page, per_page=per_page, user_id=user_id
        )

    return await read(request, action)


@router.get(
    "/imports",
    response_model=list[ImportRunOut],
    responses={404: {"description": "Unknown guild (`guild_not_found`)"}},
)
async def import_runs(request: Request, guild_id: GuildId, _: Caller) -> Response:
    """The guild's imports, newest first, each with its report (counts, what was skipped)."""

    async def action(uow: UnitOfWork) -> list[ImportRunOut]:
        return await queries.list_runs(uow, guild_id=guild_id)

    return await read(request, action)
