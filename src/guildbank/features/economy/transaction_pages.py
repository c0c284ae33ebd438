"""The transaction log: filters, paging, streamed CSV export, detail with a confirmed
reversal, and the ledger integrity check. History is append-only, so the only correction the
dashboard offers is a reversal; the export streams so a large guild never loads all at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_REASON_LENGTH
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import queries as reports
from guildbank.features.economy import statistics as stats
from guildbank.features.economy.integrity_log import log_integrity_problems
from guildbank.features.economy.transactions_csv import CSV_COLUMNS, csv_response, csv_stream
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import get_config
from guildbank.ledger import integrity
from guildbank.ledger.errors import TransactionNotFound
from guildbank.ledger.types import TransactionType
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import discord_id_problem
from guildbank.web.guard import Ctx, page

__all__ = ["CSV_COLUMNS", "routes"]

PAGE_SIZE = 50
EXPORT_BATCH = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """The query string's filters, what was typed (to show it again) and what was refused."""

    where: stats.TransactionFilter
    typed: dict[str, str]
    problems: list[str]

    @property
    def empty(self) -> bool:
        return not any(self.typed.values())

    def query(self, **extra: object) -> str:
        return urlencode({**{k: v for k, v in self.typed.items() if v}, **extra})


def _day(raw: str, problems: list[str], label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{label} must be a date (YYYY-MM-DD).")
        return None


def _filters(ctx: Ctx) -> Filters:
    typed = {name: ctx.query(name)[:40] for name in ("user", "type", "start", "end")}
    problems: list[str] = []
    user = typed["user"] or None
    if user is not None and (problem := discord_id_problem(user, "user")) is not None:
        problems.append(f"User: {problem}")
        user = None
    kind = typed["type"] or None
    start, end = _day(typed["start"], problems, "From"), _day(typed["end"], problems, "To")
    if start is not None and end is not None and end < start:
        problems.append(
            f"To ({end.isoformat()}) is before From ({start.isoformat()}): no day is in "
            "between. Swap them or change one."
        )
    where = stats.TransactionFilter(
        user_id=user,
        type=kind,
        start=datetime.combine(start, time.min, UTC) if start else None,
        end=datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None,
    )
    return Filters(where, typed, problems)


async def transactions(ctx: Ctx) -> Response:
    filters = _filters(ctx)
    paging = ctx.paging(PAGE_SIZE)
    where = filters.where
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        rows = await reports.list_transactions(
            uow,
            guild_id=ctx.guild_id,
            user_id=where.user_id,
            type=where.type,
            start=where.start,
            end=where.end,
            limit=paging.size,
            offset=paging.offset,
        )
        total = await stats.count_transactions(uow, guild_id=ctx.guild_id, where=where)
        await uow.commit()
    await ctx.lookup_people([e.user_id for t in rows for e in t.entries])
    return await ctx.render(
        "transactions.html",
        nav="transactions",
        live=True,
        live_rows=paging.number == 1 and filters.empty,
        rows=rows,
        total=total,
        page=paging.number,
        pages=paging.count(total),
        filters=filters,
        types=tuple(TransactionType),
    )


async def export_csv(ctx: Ctx) -> Response:
    filters = _filters(ctx)

    async def names_of(user_ids: list[str]) -> dict[str, str]:
        wanted = [u for u in dict.fromkeys(user_ids) if is_snowflake(u)]
        if not wanted or not ctx.state.directory.enabled:
            return {}
        found = await ctx.state.directory.members(ctx.guild_id, wanted)
        return {user_id: person.name for user_id, person in found.items()}

    lines = csv_stream(
        ctx.state.services, ctx.guild_id, filters.where, batch=EXPORT_BATCH, names_of=names_of
    )
    return csv_response(lines, ctx.guild_id)


def _transaction_id(ctx: Ctx) -> int:
    transaction_id = int(ctx.request.path_params["transaction_id"])
    if not 0 < transaction_id < 2**63:
        raise TransactionNotFound(transaction_id)
    return transaction_id


async def _detail(ctx: Ctx, *, error: str = "", status: int = 200) -> Response:
    transaction_id = _transaction_id(ctx)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        view = await reports.get_transaction(
            uow, guild_id=ctx.guild_id, transaction_id=transaction_id
        )
        reversed_by = await stats.reversal_of(
            uow, guild_id=ctx.guild_id, transaction_id=transaction_id
        )
        await uow.commit()
    await ctx.lookup_people([e.user_id for e in view.entries])
    return await ctx.render(
        "transaction.html",
        nav="transactions",
        config=config,
        tx=view,
        reversed_by=reversed_by,
        max_reason=MAX_REASON_LENGTH,
        error=error,
        status=status,
    )


async def transaction(ctx: Ctx) -> Response:
    return await _detail(ctx)


async def reverse(ctx: Ctx) -> Response:
    """Reverse only with the confirmation box ticked and a reason; history is never edited."""
    transaction_id = _transaction_id(ctx)
    if ctx.field("confirm") != "yes":
        return await _detail(ctx, error="Tick the box to confirm the reversal.", status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await economy_admin.reverse_transaction(
                uow,
                guild_id=ctx.guild_id,
                transaction_id=transaction_id,
                reason=ctx.field("reason"),
                actor_id=ctx.actor,
            )
            await uow.commit()
    except GuildbankError as error:
        if error.kind == "not_found":
            raise
        return await _detail(ctx, error=error.message, status=400)
    return await ctx.redirect(
        f"{ctx.base}/transactions/{result.id}",
        flash=("ok", f"Transaction #{transaction_id} was reversed by #{result.id}."),
    )


async def integrity_check(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=ctx.guild_id)
        await uow.commit()
    await log_integrity_problems(ctx.state.services, report)
    return await ctx.render("integrity.html", nav="transactions", report=report)


G = "/guilds/{guild_id}"
routes = [
    Route(
        f"{G}/transactions",
        page(transactions, level=Level.MODERATOR),
        methods=["GET"],
        name="transactions",
    ),
    Route(
        f"{G}/transactions.csv",
        page(export_csv, level=Level.MODERATOR),
        methods=["GET"],
        name="transactions_csv",
    ),
    Route(
        f"{G}/transactions/{{transaction_id:int}}",
        page(transaction, level=Level.MODERATOR),
        methods=["GET"],
    ),
    Route(
        f"{G}/transactions/{{transaction_id:int}}/reverse",
        page(reverse, feature="economy"),
        methods=["POST"],
    ),
    Route(f"{G}/integrity", page(integrity_check), methods=["GET"], name="integrity"),
]
