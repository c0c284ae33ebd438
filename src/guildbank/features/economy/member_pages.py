"""Members: search (by Discord name or id), sort, page, the inactive list, a member's balance
and history, and balance adjustments. An adjustment is a ledger transaction against the mint,
so it needs a reason: the log must say why money appeared or vanished."""

from __future__ import annotations

from typing import cast, get_args

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import queries as reports
from guildbank.features.economy import statistics as stats
from guildbank.features.economy.rules import AdjustAction
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.guard import NOT_YOURS, Ctx, error_page, page

__all__ = ["routes"]

PAGE_SIZE = 25
HISTORY_SIZE = 20
ACTIONS = {"add": "Add", "remove": "Remove", "set": "Set to"}
# Longer amounts are refused as typed; shorter ones reach the ledger's own range check.
AMOUNT_DIGITS = len(str(MAX_AMOUNT))


async def members(ctx: Ctx) -> Response:
    query = ctx.query("q")
    status = ctx.query("status") or "active"
    sort = ctx.query("sort") or "balance"
    if status not in get_args(stats.MemberStatus):
        status = "active"
    if sort not in get_args(stats.MemberSort):
        sort = "balance"
    paging = ctx.paging(PAGE_SIZE)
    user_ids: list[str] | None = None
    notice = ""
    if query and not query.isdigit():
        user_ids = await ctx.state.directory.search(ctx.guild_id, query)
        if user_ids is None:
            notice = "Searching by name needs Discord (bot token); search by user id instead."
            user_ids = []
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        found = await stats.search_members(
            uow,
            guild_id=ctx.guild_id,
            user_ids=user_ids,
            id_prefix=query if query.isdigit() else None,
            status=cast("stats.MemberStatus", status),
            sort=cast("stats.MemberSort", sort),
            limit=paging.size,
            offset=paging.offset,
        )
        await uow.commit()
    await ctx.lookup_people([row.user_id for row in found.rows])
    return await ctx.render(
        "members.html",
        nav="members",
        found=found,
        query=query,
        show=status,
        sort=sort,
        page=paging.number,
        pages=paging.count(found.total),
        notice=notice,
        sorts=get_args(stats.MemberSort),
    )


async def _member_page(ctx: Ctx, user_id: str, *, error: str = "", status: int = 200) -> Response:
    paging = ctx.paging(HISTORY_SIZE)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        balance = await reports.get_balance(uow, guild_id=ctx.guild_id, user_id=user_id)
        rank = await reports.rank_of(uow, guild_id=ctx.guild_id, user_id=user_id)
        history = await reports.history(
            uow,
            guild_id=ctx.guild_id,
            user_id=user_id,
            limit=paging.size,
            offset=paging.offset,
        )
        await uow.commit()
    await ctx.lookup_people([user_id] + [e.user_id for t in history for e in t.entries])
    return await ctx.render(
        "member.html",
        nav="members",
        config=config,
        user_id=user_id,
        balance=balance,
        rank=rank,
        history=history,
        page=paging.number,
        more=len(history) == paging.size,
        actions=ACTIONS,
        max_reason=MAX_REASON_LENGTH,
        error=error,
        status=status,
    )


def _user_id(ctx: Ctx) -> str | None:
    """The member id in the URL; None when it is not a Discord id."""
    user_id = str(ctx.request.path_params["user_id"])
    return user_id if is_snowflake(user_id) else None


async def member(ctx: Ctx) -> Response:
    if (user_id := _user_id(ctx)) is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    return await _member_page(ctx, user_id)


async def adjust(ctx: Ctx) -> Response:
    """Add, remove or set a member's balance against the mint; the reason is mandatory."""
    if (user_id := _user_id(ctx)) is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    action, raw_amount, reason = ctx.field("action"), ctx.field("amount"), ctx.field("reason")
    if action not in ACTIONS:
        return await _member_page(ctx, user_id, error="Choose add, remove or set.", status=400)
    if not raw_amount.isdigit() or len(raw_amount) > AMOUNT_DIGITS:
        return await _member_page(ctx, user_id, error="Enter a whole amount.", status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await economy_admin.adjust_balance(
                uow,
                guild_id=ctx.guild_id,
                user_id=user_id,
                action=cast("AdjustAction", action),
                amount=int(raw_amount),
                reason=reason,
                actor_id=ctx.session.actor_id,
            )
            await uow.commit()
    except GuildbankError as error:
        return await _member_page(ctx, user_id, error=error.message, status=400)
    message = (
        f"Balance is now {result.balance:,} (change {result.delta:+,}, "
        f"transaction #{result.transaction_id})."
        if result.transaction_id is not None
        else "Nothing changed: the balance already had that value."
    )
    return await ctx.redirect(f"{ctx.base}/members/{user_id}", flash=("ok", message))


routes = [
    Route("/guilds/{guild_id}/members", page(members), methods=["GET"], name="members"),
    Route("/guilds/{guild_id}/members/{user_id}", page(member), methods=["GET"], name="member"),
    Route("/guilds/{guild_id}/members/{user_id}/adjust", page(adjust), methods=["POST"]),
]
