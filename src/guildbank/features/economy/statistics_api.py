"""The transaction log's statistics and CSV export under ``/api/guilds/{guild_id}/transactions``
(the seed's paths): a period's flows, and the log streamed as CSV with the list's filters.

The export validates everything (filters, key, guild, feature) before the first byte: a bad
request is a 422 (or 404/409) with nothing streamed; then rows go out batch by batch.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AfterValidator

from guildbank.api.deps import Caller, DateTimeQuery, GuildId, api_state, read
from guildbank.core.ids import SNOWFLAKE_PATTERN, is_snowflake
from guildbank.core.schemas import SingleLine
from guildbank.features.economy import period_stats
from guildbank.features.economy import queries as reports
from guildbank.features.economy import statistics as stats
from guildbank.features.economy.schemas import PeriodStatisticsOut
from guildbank.features.economy.transactions_csv import (
    CSV_COLUMNS,
    CSV_MEDIA_TYPE,
    csv_response,
    csv_stream,
)
from guildbank.features.guilds.gate import feature_on
from guildbank.features.guilds.queries import get_config
from guildbank.platform.clock import as_utc
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = ["EXPORT_BATCH", "router"]

router = APIRouter(
    prefix="/guilds/{guild_id}/transactions",
    tags=["transactions"],
    dependencies=[feature_on("economy")],
)
EXPORT_BATCH = 500


def _discord_id(value: str | None) -> str | None:
    if value is not None and not is_snowflake(value):
        msg = "must be a Discord id (digits, below 2**63)"
        raise ValueError(msg)
    return value


UserFilter = Annotated[
    str | None,
    Query(pattern=SNOWFLAKE_PATTERN, max_length=20, description="Only this member's"),
    AfterValidator(_discord_id),
]


@router.get("/statistics", response_model=PeriodStatisticsOut)
async def get_statistics(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    user_id: UserFilter = None,
    period: period_stats.Period = "all",
) -> Response:
    """Earned, spent, per type, active members and the money supply at the start and end of
    a rolling period ending now (day = 24 h, week = 7 days, month = 30 days, all = every
    transaction still held), for the guild's members or one member (``user_id``)."""

    async def action(uow: UnitOfWork) -> PeriodStatisticsOut:
        return await period_stats.period_statistics(
            uow, guild_id=guild_id, period=period, user_id=user_id
        )

    return await read(request, action)


class CsvResponse(StreamingResponse):
    media_type = CSV_MEDIA_TYPE


@router.get(
    "/export",
    response_class=CsvResponse,
    responses={
        200: {
            "description": "The filtered log as CSV, streamed (columns: "
            + ", ".join(CSV_COLUMNS)
            + ")",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def export_transactions(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    user_id: UserFilter = None,
    type: Annotated[SingleLine | None, Query(max_length=32)] = None,
    start: DateTimeQuery | None = None,
    end: DateTimeQuery | None = None,
    sort: reports.TransactionSort = "newest",
) -> StreamingResponse:
    """The transaction log as CSV with the filters and sort of ``GET …/bytes/transactions``
    (every matching row, no paging), streamed in batches."""
    services = api_state(request).services
    async with unit_of_work(services, read_only=True) as uow:
        await get_config(uow, guild_id)  # an unknown guild is a 404 before anything streams
        await uow.commit()
    where = stats.TransactionFilter(
        user_id=user_id,
        type=type,
        start=None if start is None else as_utc(start),
        end=None if end is None else as_utc(end),
    )
    lines = csv_stream(services, guild_id, where, sort=sort, batch=EXPORT_BATCH)
    return csv_response(lines, guild_id)
