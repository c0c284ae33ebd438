"""The transaction log as CSV, streamed: one implementation for the dashboard's download
(``transactions.csv``) and the API's ``GET …/transactions/export``.

Rows are read in keyset-paged batches (``statistics.export_batch``) from one read-only unit of
work and written out batch by batch, so a guild's whole history is never in memory at once;
members' reasons are written so that a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from starlette.responses import StreamingResponse

from guildbank.features.economy import statistics as stats
from guildbank.features.economy.queries import TransactionSort
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["CSV_COLUMNS", "CSV_MEDIA_TYPE", "Names", "csv_response", "csv_stream", "no_names"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CSV_COLUMNS = (
    "id",
    "created_at",
    "type",
    "amount",
    "from_user_ids",
    "to_user_ids",
    "reason",
    "actor_id",
    "reverses_id",
    # Discord names (with the bot token; empty otherwise), after the ids so columns keep
    # their places for existing spreadsheets.
    "from_names",
    "to_names",
    "actor_name",
)

# Discord names of user ids (those it knows); the API export has none to offer.
Names = Callable[[list[str]], Awaitable[dict[str, str]]]


async def no_names(user_ids: list[str]) -> dict[str, str]:
    return {}


def _cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (reasons are typed by members)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _named(ids: Iterable[str], names: dict[str, str]) -> str:
    return " ".join(_cell(names.get(i, "")) or "-" for i in ids)


async def csv_stream(
    services: Services,
    guild_id: str,
    where: stats.TransactionFilter,
    *,
    sort: TransactionSort = "newest",
    batch: int = 500,
    names_of: Names = no_names,
) -> AsyncIterator[str]:
    """The header, then the filtered log in ``sort`` order, ``batch`` rows at a time."""
    yield _csv_lines([CSV_COLUMNS])
    async with unit_of_work(services, read_only=True) as uow:
        after: stats.ExportRow | None = None
        while rows := await stats.export_batch(
            uow, guild_id=guild_id, where=where, sort=sort, after=after, limit=batch
        ):
            names = await names_of(
                [u for r in rows for u in (*r.debited, *r.credited, r.actor_id or "")]
            )
            yield _csv_lines(
                (
                    r.id,
                    r.created_at.isoformat(),
                    r.type,
                    r.amount,
                    " ".join(r.debited),
                    " ".join(r.credited),
                    _cell(r.reason),
                    r.actor_id or "",
                    r.reverses_id or "",
                    _named(r.debited, names) if names else "",
                    _named(r.credited, names) if names else "",
                    _cell(names.get(r.actor_id or "", "")),
                )
                for r in rows
            )
            after = rows[-1]
        await uow.commit()


def csv_response(lines: AsyncIterator[str], guild_id: str) -> StreamingResponse:
    """The streamed download, named after the guild, never cached."""
    filename = f"guildbank-{guild_id}-transactions.csv"
    return StreamingResponse(
        lines,
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
