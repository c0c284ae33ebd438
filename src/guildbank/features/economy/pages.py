"""The server overview: the page an admin lands on, so it answers "is the economy healthy?"
at a glance (headline numbers, 30-day charts, top members, live recent transactions)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.features.economy import queries as reports
from guildbank.features.economy import statistics as stats
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.charts import bar_chart, line_chart
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

CHART_DAYS = 30


async def overview(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        summary = await stats.guild_summary(uow, guild_id=ctx.guild_id)
        activity = await stats.daily_activity(uow, guild_id=ctx.guild_id, days=CHART_DAYS)
        supply = await stats.money_supply_series(uow, guild_id=ctx.guild_id, days=CHART_DAYS)
        top = await reports.leaderboard(uow, guild_id=ctx.guild_id, limit=10)
        recent = await reports.list_transactions(uow, guild_id=ctx.guild_id, limit=10)
        await uow.commit()
    await ctx.lookup_people(
        [e.user_id for e in top] + [e.user_id for t in recent for e in t.entries]
    )
    days = [p.day for p in activity]
    return await ctx.render(
        "overview.html",
        nav="overview",
        live=True,
        config=config,
        summary=summary,
        top=top,
        recent=recent,
        activity_chart=bar_chart(
            f"Transactions per day, last {CHART_DAYS} days (UTC)",
            days,
            [p.transactions for p in activity],
            "transactions",
        ),
        supply_chart=line_chart(
            f"Money supply, last {CHART_DAYS} days (UTC)",
            [p.day for p in supply],
            [p.supply for p in supply],
            config.currency_name,
        ),
    )


routes = [
    Route("/guilds/{guild_id}", page(overview), methods=["GET"], name="overview"),
]
