"""The operator's System page: the bot per shard, its presence (set here), a restart of the
gateway shards, defaults for new servers, and this web process's recent logs.

Only the local admin account (the self-hoster, ``GUILDBANK_ADMIN_*``) sees it: a Discord
login manages servers, not the deployment.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from guildbank.core.errors import GuildbankError
from guildbank.features.announcements import operator
from guildbank.features.announcements.logring import LEVELS, RING
from guildbank.features.announcements.schemas import GuildDefaults, PresenceIn
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import Ctx, error_page, page

__all__ = ["system_routes"]

BACK = "/admin/system"


def _operator_only(ctx: Ctx) -> Response | None:
    if ctx.session.kind != "local":
        return error_page(
            "The System page is the operator's: log in with the local admin account.",
            403,
            session=ctx.session,
        )
    return None


async def system(ctx: Ctx) -> Response:
    if (refused := _operator_only(ctx)) is not None:
        return refused
    level = ctx.query("level")
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        status = await operator.bot_status(uow)
        defaults = await operator.get_defaults(uow)
        await uow.commit()
    return await ctx.render(
        "system.html",
        nav="system",
        bot=status,
        defaults=defaults,
        streaks=", ".join(f"{k}:{v}" for k, v in defaults.defaults.streak_bonuses.items()),
        lines=list(reversed(RING.lines(level=level or None, limit=200))),
        level=level if level in LEVELS else "",
        levels=LEVELS,
    )


async def set_presence(ctx: Ctx) -> Response:
    if (refused := _operator_only(ctx)) is not None:
        return refused
    kind = ctx.field("activity_type") or None
    try:
        presence = PresenceIn.model_validate(
            {
                "status": ctx.field("status") or "online",
                "activity_type": kind,
                "activity_text": ctx.field("activity_text"),
            }
        )
    except ValidationError as error:
        return await ctx.redirect(BACK, flash=("error", str(error.errors()[0]["msg"])))
    async with unit_of_work(ctx.state.services) as uow:
        await operator.put_presence(uow, presence=presence)
        await uow.commit()
    return await ctx.redirect(BACK, flash=("ok", "Presence saved: the bots show it in seconds."))


async def set_defaults(ctx: Ctx) -> Response:
    if (refused := _operator_only(ctx)) is not None:
        return refused
    try:
        streaks = {}
        for part in filter(None, (p.strip() for p in ctx.field("streak_bonuses").split(","))):
            day, _, multiplier = part.partition(":")
            streaks[day.strip()] = int(multiplier)
        defaults = GuildDefaults.model_validate(
            {
                "currency_name": ctx.field("currency_name"),
                "currency_emoji": ctx.field("currency_emoji"),
                "starting_balance": int(ctx.field("starting_balance") or 0),
                "daily_amount": int(ctx.field("daily_amount") or 0),
                "streak_bonuses": streaks,
            }
        )
    except (ValueError, ValidationError) as error:
        said = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        return await ctx.redirect(BACK, flash=("error", f"Defaults not saved: {said}"))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await operator.put_defaults(uow, defaults=defaults)
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(BACK, flash=("error", error.message))
    return await ctx.redirect(BACK, flash=("ok", "Defaults for new servers saved."))


async def restart(ctx: Ctx) -> Response:
    if (refused := _operator_only(ctx)) is not None:
        return refused
    async with unit_of_work(ctx.state.services) as uow:
        await operator.request_restart(uow)
        await uow.commit()
    return await ctx.redirect(BACK, flash=("ok", "Restart requested: the shards reconnect."))


async def clear_logs(ctx: Ctx) -> Response:
    if (refused := _operator_only(ctx)) is not None:
        return refused
    RING.clear()
    return await ctx.redirect(BACK, flash=("ok", "Logs cleared."))


def system_routes() -> list[BaseRoute]:
    return [
        Route("/system", page(system, guild=False), methods=["GET"], name="system"),
        Route("/system/presence", page(set_presence, guild=False), methods=["POST"]),
        Route("/system/defaults", page(set_defaults, guild=False), methods=["POST"]),
        Route("/system/restart", page(restart, guild=False), methods=["POST"]),
        Route("/system/logs/clear", page(clear_logs, guild=False), methods=["POST"]),
    ]
