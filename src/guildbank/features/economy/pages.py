"""The server overview: the page an admin lands on, so it answers "is the economy healthy?"
at a glance (headline numbers, 30-day charts of activity, money supply, velocity and the
Gini coefficient of balances, top members, live recent transactions)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from guildbank.features.economy import period_stats
from guildbank.features.economy import queries as reports
from guildbank.features.economy import statistics as stats
from guildbank.features.economy.admin_actions import ADMIN_ACTIONS
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.admin_log import admin_log_page
from guildbank.web.charts import bar_chart, line_chart, ratio_chart
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

CHART_DAYS = 30


async def overview(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        summary = await stats.guild_summary(uow, guild_id=ctx.guild_id)
        activity = await stats.daily_activity(uow, guild_id=ctx.guild_id, days=CHART_DAYS)
        economy = await period_stats.economy_series(uow, guild_id=ctx.guild_id, days=CHART_DAYS)
        top = await reports.leaderboard(uow, guild_id=ctx.guild_id, limit=10)
        recent = await reports.list_transactions(uow, guild_id=ctx.guild_id, limit=10)
        await uow.commit()
    await ctx.lookup_people(
        [e.user_id for e in top] + [e.user_id for t in recent for e in t.entries]
    )
    days = [p.day for p in economy]
    held = sum(p.supply for p in economy)
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
            days,
            [p.supply for p in economy],
            config.currency_name,
        ),
        velocity_chart=ratio_chart(
            f"Velocity (spent / supply) per day, last {CHART_DAYS} days (UTC)",
            days,
            [p.velocity for p in economy],
            "per day",
        ),
        gini_chart=ratio_chart(
            f"Gini coefficient of member balances, last {CHART_DAYS} days (UTC)",
            days,
            [p.gini for p in economy],
            "",
            top=1.0,
        ),
        gini_now=economy[-1].gini,
        # Over the whole window: what members spent / what they held on an average day.
        velocity=sum(p.spent for p in economy) * len(economy) / held if held else 0.0,
    )


async def admin_log(ctx: Ctx) -> Response:
    """Who did what: adjustments, reversals, settings and squad changes, with filters."""
    return await admin_log_page(ctx, ADMIN_ACTIONS)


routes = [
    Route(
        "/guilds/{guild_id}/admin-log",
        page(admin_log, level=Level.MODERATOR),
        methods=["GET"],
        name="admin_log",
    ),
    Route(
        "/guilds/{guild_id}",
        page(overview, level=Level.MODERATOR),
        methods=["GET"],
        name="overview",
    ),
]
