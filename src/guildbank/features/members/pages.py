"""The members pages: the list (search by name or id, sort, page, inactive), a member's page
(money, streak, squad, inventory, tasks, history, balance adjustments, reactivation), the
members who left with the cleanup (a preview first, then the run), and the economy reset
(a preview, then a typed confirmation).

An adjustment is a ledger transaction against the mint, so it needs a reason: the log must
say why money appeared or vanished."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast, get_args

from starlette.responses import Response
from starlette.routing import Route

from guildbank.core.errors import GuildbankError
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT, MAX_REASON_LENGTH
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import queries as reports
from guildbank.features.economy.rules import AdjustAction
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import get_config
from guildbank.features.members import queries, service
from guildbank.features.members.rules import (
    MAX_DAYS,
    RESET_WORD,
    SORTS,
    MemberSort,
    MemberStatus,
)
from guildbank.features.members.schemas import CleanupOut, MemberOut
from guildbank.platform.uow import unit_of_work
from guildbank.web.discord import DiscordMember
from guildbank.web.forms import (
    NOT_WHOLE,
    discord_id_problem,
    number_text,
    parse_whole,
    text_problem,
)
from guildbank.web.guard import NOT_YOURS, Ctx, error_page, page

__all__ = ["routes"]

PAGE_SIZE = 25
HISTORY_SIZE = 20
INACTIVE_SIZE = 50
DEFAULT_CLEANUP_DAYS = 30
# Longer than the bound and still read as a number, so the message names the bound.
MAX_TYPED_DIGITS = 32
ACTIONS = {"add": "Add", "remove": "Remove", "set": "Set to"}


async def _names(ctx: Ctx, members: Sequence[MemberOut], others: Sequence[str] = ()) -> None:
    """Names and avatars from Discord; the stored name for members Discord does not give."""
    await ctx.lookup_people([m.user_id for m in members] + list(others))
    for m in members:
        if m.user_id not in ctx.people and m.display_name:
            ctx.people[m.user_id] = DiscordMember(m.user_id, m.display_name, None)
    learned = {
        m.user_id: ctx.people[m.user_id].name
        for m in members
        if m.user_id in ctx.people and ctx.people[m.user_id].name != m.display_name
    }
    if learned:  # what Discord calls them now: search by name finds them without Discord
        async with unit_of_work(ctx.state.services) as uow:
            await service.remember_names(uow, guild_id=ctx.guild_id, names=learned)
            await uow.commit()


async def members(ctx: Ctx) -> Response:
    query = ctx.query("q")
    status = ctx.query("status") or "active"
    sort = ctx.query("sort") or "balance"
    if status not in get_args(MemberStatus):
        status = "active"
    if sort not in get_args(MemberSort):
        sort = "balance"
    paging = ctx.paging(PAGE_SIZE)
    user_ids: list[str] | None = None
    by_id = query.isascii() and query.isdigit()
    if query and not by_id:
        user_ids = await ctx.state.directory.search(ctx.guild_id, query)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        found = await queries.list_members(
            uow,
            guild_id=ctx.guild_id,
            search=query or None,
            user_ids=user_ids,
            status=cast("MemberStatus", status),
            sort=cast("MemberSort", sort),
            page=paging.number,
            per_page=paging.size,
        )
        await uow.commit()
    await _names(ctx, found.members)
    return await ctx.render(
        "members.html",
        nav="members",
        live=True,
        found=found,
        query=query,
        show=status,
        sort=sort,
        page=paging.number,
        pages=found.pages,
        sorts=SORTS,
    )


async def _member_page(
    ctx: Ctx,
    user_id: str,
    *,
    error: str = "",
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    """The member's page; after a refused adjustment, its form exactly as submitted (never a
    reset to "Add" that would add what the admin meant to remove)."""
    paging = ctx.paging(HISTORY_SIZE)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        balance = await reports.get_balance(uow, guild_id=ctx.guild_id, user_id=user_id)
        row = await queries.member_row(uow, guild_id=ctx.guild_id, user_id=user_id)
        detail = (
            await queries.member_detail(uow, guild_id=ctx.guild_id, user_id=user_id, recent=0)
            if row is not None
            else None
        )
        history = await reports.history(
            uow,
            guild_id=ctx.guild_id,
            user_id=user_id,
            limit=paging.size,
            offset=paging.offset,
        )
        await uow.commit()
    await _names(
        ctx, [row] if row else [], [user_id] + [e.user_id for t in history for e in t.entries]
    )
    return await ctx.render(
        "member.html",
        nav="members",
        live=True,
        config=config,
        user_id=user_id,
        balance=balance,
        member=row,
        detail=detail,
        history=history,
        page=paging.number,
        more=len(history) == paging.size,
        actions=ACTIONS,
        max_reason=MAX_REASON_LENGTH,
        error=error,
        status=status,
        adjust_form=typed or {},
    )


def _user_id(ctx: Ctx) -> str | None:
    """The member id in the URL; None when it is not a Discord id."""
    user_id = str(ctx.request.path_params["user_id"])
    return user_id if is_snowflake(user_id) else None


async def member(ctx: Ctx) -> Response:
    if (user_id := _user_id(ctx)) is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    return await _member_page(ctx, user_id)


def _amount_problem(action: str, amount: int | None) -> str | None:
    """What is wrong with the typed amount for this action, or None."""
    if amount is None:
        return f"Amount: {NOT_WHOLE}"
    if amount > MAX_AMOUNT:
        return f"Amount: must be at most {number_text(MAX_AMOUNT)}."
    if action == "set":
        return "Amount: must be 0 or more." if amount < 0 else None
    return "Amount: must be positive." if amount <= 0 else None


def _adjust_problem(user_id: str, action: str, amount: int | None, reason: str) -> str | None:
    """What is wrong with an adjustment form, in words, before anything is written."""
    if action not in ACTIONS:
        return "Choose add, remove or set."
    if (problem := _amount_problem(action, amount)) is not None:
        return problem
    if (problem := text_problem(reason)) is not None:
        return f"Reason: {problem}"
    return discord_id_problem(user_id, "member")


async def adjust(ctx: Ctx) -> Response:
    """Add, remove or set a member's balance against the mint; the reason is mandatory."""
    if (user_id := _user_id(ctx)) is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    action, raw_amount, reason = ctx.field("action"), ctx.field("amount"), ctx.field("reason")
    typed = {"action": action, "amount": raw_amount, "reason": reason}

    async def refused(message: str) -> Response:
        return await _member_page(ctx, user_id, error=message, status=400, typed=typed)

    amount = parse_whole(raw_amount, max_digits=MAX_TYPED_DIGITS)
    if (problem := _adjust_problem(user_id, action, amount, reason)) is not None:
        return await refused(problem)
    assert amount is not None
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await economy_admin.adjust_balance(
                uow,
                guild_id=ctx.guild_id,
                user_id=user_id,
                action=cast("AdjustAction", action),
                amount=amount,
                reason=reason,
                actor_id=ctx.actor,
            )
            await uow.commit()
    except GuildbankError as error:
        return await refused(error.message)
    message = (
        f"Balance is now {result.balance:,} (change {result.delta:+,}, "
        f"transaction #{result.transaction_id})."
        if result.transaction_id is not None
        else "Nothing changed: the balance already had that value."
    )
    return await ctx.redirect(f"{ctx.base}/members/{user_id}", flash=("ok", message))


async def reactivate(ctx: Ctx) -> Response:
    """Show a member who left again; no new starting balance."""
    if (user_id := _user_id(ctx)) is None:
        return error_page(NOT_YOURS, 404, session=ctx.session)
    async with unit_of_work(ctx.state.services) as uow:
        result = await service.reactivate(uow, guild_id=ctx.guild_id, user_id=user_id)
        await uow.commit()
    message = (
        "This member was already active."
        if result.was_active
        else "Member reactivated: they count on leaderboards again (no new starting balance)."
    )
    target = ctx.field("next") or f"{ctx.base}/members/{user_id}"
    if not target.startswith(f"{ctx.base}/"):
        target = f"{ctx.base}/members/{user_id}"
    return await ctx.redirect(target, flash=("ok", message))


def _days(raw: str) -> int | None:
    """The typed number of days, None when it is no whole number in range."""
    days = parse_whole(raw, max_digits=MAX_TYPED_DIGITS) if raw else DEFAULT_CLEANUP_DAYS
    return days if days is not None and 0 <= days <= MAX_DAYS else None


async def _inactive_page(
    ctx: Ctx,
    *,
    days_text: str,
    preview: CleanupOut | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    paging = ctx.paging(INACTIVE_SIZE)
    days = _days(days_text)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        gone = await queries.inactive_members(
            uow,
            guild_id=ctx.guild_id,
            days=0,
            page=paging.number,
            per_page=paging.size,
        )
        await uow.commit()
    listed = [m.user_id for m in gone.members] + (
        [m.user_id for m in preview.cleaned] if preview else []
    )
    await ctx.lookup_people(listed)
    for m in gone.members:
        if m.user_id not in ctx.people and m.display_name:
            ctx.people[m.user_id] = DiscordMember(m.user_id, m.display_name, None)
    return await ctx.render(
        "inactive.html",
        nav="members",
        config=config,
        gone=gone,
        days=days if days is not None else days_text,
        preview=preview,
        error=error,
        notice=notice,
        status=status,
        page=paging.number,
        pages=paging.count(gone.total),
        max_days=MAX_DAYS,
    )


async def inactive(ctx: Ctx) -> Response:
    """The members who left, longest gone first, and the cleanup form."""
    return await _inactive_page(ctx, days_text=ctx.query("days"))


async def cleanup(ctx: Ctx) -> Response:
    """``preview``: who a cleanup would take and how much (nothing changes). ``run``: the
    cleanup itself, refused (with a fresh preview) when it would no longer take exactly what
    the admin saw."""
    days_text = ctx.field("days")
    days = _days(days_text)
    if days is None:
        return await _inactive_page(
            ctx,
            days_text=days_text,
            error=f"Days: enter a whole number from 0 to {MAX_DAYS:,}.",
            status=400,
        )
    run = ctx.field("action") == "run"
    changed = False
    async with unit_of_work(ctx.state.services) as uow:
        result = await service.cleanup(
            uow,
            guild_id=ctx.guild_id,
            days=days,
            dry_run=not run,
            actor_id=ctx.actor if run else None,
        )
        changed = run and (ctx.field("members"), ctx.field("amount")) != (
            str(result.members),
            str(result.amount),
        )
        if run and not changed:
            await uow.commit()
    if changed:
        return await _inactive_page(
            ctx,
            days_text=str(days),
            preview=await _preview(ctx, days),
            error="Members changed since the preview: check this new preview, then run it.",
            status=409,
        )
    if not run:
        return await _inactive_page(ctx, days_text=str(days), preview=result)
    message = (
        f"Cleaned up {result.members:,} member{'' if result.members == 1 else 's'}: "
        f"{result.amount:,} returned to the mint."
        if result.members
        else "Nothing to clean up."
    )
    return await ctx.redirect(f"{ctx.base}/members/inactive?days={days}", flash=("ok", message))


async def _preview(ctx: Ctx, days: int) -> CleanupOut:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        preview = await service.cleanup(uow, guild_id=ctx.guild_id, days=days, dry_run=True)
        await uow.commit()
    return preview


async def _reset_page(ctx: Ctx, *, error: str = "", status: int = 200) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        preview = await service.reset_economy(uow, guild_id=ctx.guild_id, confirm="", dry_run=True)
        await uow.commit()
    return await ctx.render(
        "reset.html",
        nav="members",
        config=config,
        preview=preview,
        word=RESET_WORD,
        error=error,
        status=status,
        max_reason=MAX_REASON_LENGTH,
    )


async def reset_form(ctx: Ctx) -> Response:
    """What a reset would do, and the form that asks for the typed confirmation."""
    return await _reset_page(ctx)


async def reset(ctx: Ctx) -> Response:
    """Reset the economy once the admin typed RESET or the server's name."""
    reason = ctx.field("reason")
    if reason and (problem := text_problem(reason)) is not None:
        return await _reset_page(ctx, error=f"Reason: {problem}", status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            result = await service.reset_economy(
                uow,
                guild_id=ctx.guild_id,
                confirm=ctx.field("confirm"),
                guild_name=ctx.guild_name,
                reason=reason or None,
                actor_id=ctx.actor,
            )
            await uow.commit()
    except GuildbankError as error:
        return await _reset_page(ctx, error=error.message, status=400)
    message = (
        f"Economy reset: {result.amount:,} returned to the mint from {result.members:,} "
        f"member{'' if result.members == 1 else 's'}, {result.streaks_cleared:,} streaks cleared."
    )
    return await ctx.redirect(f"{ctx.base}/members", flash=("ok", message))


# Fixed paths before ``{user_id}``: the first route that matches wins.
routes = [
    Route(
        "/guilds/{guild_id}/members",
        page(members, level=Level.MODERATOR),
        methods=["GET"],
        name="members",
    ),
    Route(
        "/guilds/{guild_id}/members/inactive",
        page(inactive, level=Level.MODERATOR),
        methods=["GET"],
        name="members_inactive",
    ),
    Route("/guilds/{guild_id}/members/cleanup", page(cleanup), methods=["POST"]),
    Route("/guilds/{guild_id}/economy/reset", page(reset_form), methods=["GET"]),
    Route("/guilds/{guild_id}/economy/reset", page(reset), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/members/{user_id}",
        page(member, level=Level.MODERATOR),
        methods=["GET"],
        name="member",
    ),
    Route(
        "/guilds/{guild_id}/members/{user_id}/adjust",
        page(adjust, feature="economy"),
        methods=["POST"],
    ),
    Route("/guilds/{guild_id}/members/{user_id}/reactivate", page(reactivate), methods=["POST"]),
]
