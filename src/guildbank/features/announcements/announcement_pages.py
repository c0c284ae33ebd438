"""Dashboard → Announcements: post now or schedule (in the server's time zone), the list with
each one's sync state, cancel, pin and unpin, delete (optionally keeping the message), and
the edit page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.responses import Response

from guildbank.core.errors import GuildbankError
from guildbank.features.announcements import queries, service, task_cards
from guildbank.features.announcements.schemas import EmbedIn
from guildbank.features.announcements.url_ids import path_id
from guildbank.features.guilds.pickers import picker_for
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx

__all__ = [
    "announcement_action",
    "announcement_create",
    "announcement_list",
    "announcement_page",
    "announcement_save",
    "task_announce",
]


async def _announcements_page(
    ctx: Ctx,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    task_error: str = "",
    status: int = 200,
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        rows = await queries.list_announcements(uow, guild_id=ctx.guild_id)
        saved = await queries.list_embeds(uow, guild_id=ctx.guild_id)
        tasks = await queries.tasks_to_announce(uow, guild_id=ctx.guild_id)
        await uow.commit()
    zone = ZoneInfo(config.timezone)
    return await ctx.render(
        "announcements.html",
        tasks=tasks,
        task_error=task_error,
        nav="announcements",
        announcements=rows,
        saved=saved,
        picker=await picker_for(ctx),
        values=values or {"channel_id": "", "content": "", "embed_id": "", "at": "", "pin": ""},
        error=error,
        zone=config.timezone,
        local=lambda moment: (
            "–" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        ),
        status=status,
    )


async def announcement_list(ctx: Ctx) -> Response:
    return await _announcements_page(ctx)


def _scheduled(raw: str, zone: str) -> datetime | None:
    """A ``datetime-local`` value in the server's time zone (None when empty)."""
    if not raw:
        return None
    return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(zone))


async def announcement_create(ctx: Ctx) -> Response:
    assert ctx.form is not None
    values = {k: ctx.field(k) for k in ("channel_id", "embed_id", "at", "pin")}
    raw_content = ctx.form.get("content", "")
    values["content"] = raw_content.replace("\r\n", "\n") if isinstance(raw_content, str) else ""
    embed_id = parse_whole(values["embed_id"], max_digits=18) if values["embed_id"] else None
    if not values["channel_id"].isdigit():
        return await _announcements_page(
            ctx, values=values, error="Choose the channel to post in.", status=400
        )
    try:
        async with unit_of_work(ctx.state.services) as uow:
            config = await get_config(uow, ctx.guild_id)
            try:
                at = _scheduled(values["at"], config.timezone)
            except ValueError:
                return await _announcements_page(
                    ctx, values=values, error="The time is not a date and time.", status=400
                )
            made = await service.create_announcement(
                uow,
                guild_id=ctx.guild_id,
                channel_id=values["channel_id"],
                content=values["content"],
                embed_id=embed_id,
                pin=values["pin"] == "1",
                scheduled_at=at,
                created_by=ctx.actor[:32],
            )
            await uow.commit()
    except GuildbankError as error:
        status = 409 if error.kind == "conflict" else 404 if error.kind == "not_found" else 400
        return await _announcements_page(ctx, values=values, error=error.message, status=status)
    said = (
        f"Scheduled for {values['at'].replace('T', ' ')} ({config.timezone})."
        if made.status == "scheduled"
        else "Posting: the bot shows it in a moment."
    )
    return await ctx.redirect(f"{ctx.base}/announcements", flash=("ok", said))


async def _edit_page(
    ctx: Ctx, announcement_id: int, *, error: str = "", status: int = 200
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        view = await queries.get_announcement(
            uow, guild_id=ctx.guild_id, announcement_id=announcement_id
        )
        saved = await queries.list_embeds(uow, guild_id=ctx.guild_id)
        await uow.commit()
    zone = ZoneInfo(config.timezone)
    at = view.scheduled_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if view.scheduled_at else ""
    return await ctx.render(
        "announcement.html",
        nav="announcements",
        a=view,
        at=at,
        saved=saved,
        zone=config.timezone,
        picker=await picker_for(ctx),
        error=error,
        status=status,
    )


async def announcement_page(ctx: Ctx) -> Response:
    return await _edit_page(ctx, path_id(ctx, "announcement_id"))


async def announcement_save(ctx: Ctx) -> Response:
    """Edit the text, channel, embed (replace with a saved one, or remove) or time."""
    assert ctx.form is not None
    announcement_id = path_id(ctx, "announcement_id")
    raw = ctx.form.get("content", "")
    content = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
    embed_choice = ctx.field("embed")
    version = parse_whole(ctx.field("version"), max_digits=9)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            config = await get_config(uow, ctx.guild_id)
            replacement = None
            if embed_choice.isdigit():
                replacement = EmbedIn.model_validate(
                    (
                        await queries.get_embed(
                            uow, guild_id=ctx.guild_id, embed_id=int(embed_choice)
                        )
                    ).embed
                )
            try:
                at = _scheduled(ctx.field("at"), config.timezone)
            except ValueError:
                return await _edit_page(
                    ctx, announcement_id, error="The time is not a date and time.", status=400
                )
            await service.update_announcement(
                uow,
                guild_id=ctx.guild_id,
                announcement_id=announcement_id,
                content=content,
                embed=replacement,
                remove_embed=embed_choice == "remove",
                channel_id=ctx.field("channel_id") or None,
                scheduled_at=at,
                expected_version=version or None,
            )
            await uow.commit()
    except GuildbankError as error:
        status = 409 if error.kind == "conflict" else 404 if error.kind == "not_found" else 400
        return await _edit_page(ctx, announcement_id, error=error.message, status=status)
    return await ctx.redirect(
        f"{ctx.base}/announcements", flash=("ok", "Saved; a posted one is edited in Discord.")
    )


ACTIONS = {
    "cancel": "Cancelled: it will not be posted.",
    "delete": "Deleted.",
    "pin": "Pinning: the bot pins it in a moment.",
    "unpin": "Unpinning: the bot unpins it in a moment.",
}


async def announcement_action(ctx: Ctx) -> Response:
    announcement_id = path_id(ctx, "announcement_id")
    action = str(ctx.request.path_params["action"])
    back = f"{ctx.base}/announcements"
    if action not in ACTIONS:
        return await ctx.redirect(back, flash=("error", "Unknown action."))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            guild_id = ctx.guild_id
            if action == "cancel":
                await service.cancel_announcement(
                    uow, guild_id=guild_id, announcement_id=announcement_id
                )
            elif action == "delete":
                await service.delete_announcement(
                    uow,
                    guild_id=guild_id,
                    announcement_id=announcement_id,
                    delete_message=ctx.field("keep_message") != "1",
                )
            else:
                await service.set_pin(
                    uow, guild_id=guild_id, announcement_id=announcement_id, pinned=action == "pin"
                )
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(back, flash=("ok", ACTIONS[action]))


async def task_announce(ctx: Ctx) -> Response:
    """Post an active task's card, in the chosen channel or the task's own."""
    task_id = parse_whole(ctx.field("task_id"), max_digits=18)
    channel = ctx.field("channel_id")
    if not task_id:
        return await _announcements_page(ctx, task_error="Choose the task to announce.", status=400)
    if channel and not channel.isdigit():
        return await _announcements_page(ctx, task_error="Choose a channel.", status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await task_cards.task_announcement(
                uow, guild_id=ctx.guild_id, task_id=task_id, channel_id=channel or None
            )
            await uow.commit()
    except GuildbankError as error:
        status = 409 if error.kind == "conflict" else 404 if error.kind == "not_found" else 400
        return await _announcements_page(ctx, task_error=error.message, status=status)
    return await ctx.redirect(
        f"{ctx.base}/announcements", flash=("ok", "Posting the task's card: the bot shows it soon.")
    )
