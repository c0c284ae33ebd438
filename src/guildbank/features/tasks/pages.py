"""Dashboard: the tasks (list with statistics, create, edit, archive/reopen, delete, claims,
the Discord post's sync status) and the review queue (proof text, attachment previews,
accept or reject with a reason).

Moderators see both pages and review proofs, as they do in Discord; creating, editing and
deleting tasks needs an admin. Both pages follow the event stream (a live feed of task
events), and their task table and review queue update live (``static/tasks.js``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from guildbank.core.errors import GuildbankError, InvalidInput
from guildbank.features.guilds.errors import BadChannel, BadRole, RoleNotAssignable
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.pickers import picker_for
from guildbank.features.guilds.queries import get_config
from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks import queries as tasks
from guildbank.features.tasks import service as task_service
from guildbank.features.tasks.forms import TaskForm
from guildbank.features.tasks.stats import task_statistics
from guildbank.platform.uow import unit_of_work
from guildbank.web.forms import parse_whole, text_problem
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

MAX_ID_DIGITS = 18
LIST_SIZE = 200
# Attachments the dashboard may show as images (its CSP allows Discord's CDN only).
PREVIEW_HOSTS = ("https://cdn.discordapp.com/", "https://media.discordapp.net/")
FORM_ERRORS = (InvalidInput, BadChannel, BadRole, RoleNotAssignable)
SCRIPT = Path(__file__).parent / "static" / "tasks.js"


def _task_id(ctx: Ctx) -> int:
    raw = str(ctx.request.path_params["task_id"])
    found = parse_whole(raw, max_digits=MAX_ID_DIGITS)
    return found if found is not None and found > 0 else 0


async def _list_page(ctx: Ctx, form: TaskForm, *, status: int = 200) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        rows = await tasks.list_tasks(uow, guild_id=ctx.guild_id, limit=LIST_SIZE)
        stats = await task_statistics(uow, guild_id=ctx.guild_id)
        settings = await tasks.get_settings(uow, guild_id=ctx.guild_id)
        await uow.commit()
    return await ctx.render(
        "tasks.html",
        nav="tasks",
        live=True,
        config=config,
        tasks=rows,
        stats=stats,
        settings=settings,
        picker=await picker_for(ctx),
        form=form,
        status=status,
    )


async def task_list(ctx: Ctx) -> Response:
    return await _list_page(ctx, TaskForm.blank())


async def create(ctx: Ctx) -> Response:
    assert ctx.form is not None
    form = TaskForm.from_form(ctx.form)
    fields = form.validated()
    if fields is None:
        return await _list_page(ctx, form, status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            view = await task_admin.create_task(
                uow, guild_id=ctx.guild_id, actor_id=ctx.session.actor_id, **fields
            )
            await uow.commit()
    except FORM_ERRORS as error:
        form.refused(error)
        return await _list_page(ctx, form, status=409 if error.kind == "conflict" else 400)
    return await ctx.redirect(
        f"{ctx.base}/tasks/{view.id}", flash=("ok", f"Task {view.name} created.")
    )


async def _task_page(
    ctx: Ctx, task_id: int, form: TaskForm | None = None, *, status: int = 200
) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        view = await tasks.get_task(uow, guild_id=ctx.guild_id, task_id=task_id)
        claims = await tasks.task_claims(uow, guild_id=ctx.guild_id, task_id=task_id)
        await uow.commit()
    await ctx.lookup_people([c.user_id for c in claims])
    return await ctx.render(
        "task.html",
        nav="tasks",
        live=True,
        config=config,
        task=view,
        claims=claims,
        form=form or TaskForm.from_view(view),
        picker=await picker_for(ctx),
        status=status,
    )


async def task(ctx: Ctx) -> Response:
    return await _task_page(ctx, _task_id(ctx))


async def edit(ctx: Ctx) -> Response:
    assert ctx.form is not None
    task_id = _task_id(ctx)
    form = TaskForm.from_form(ctx.form)
    fields = form.validated()
    if fields is None:
        return await _task_page(ctx, task_id, form, status=400)
    version = parse_whole(ctx.field("version"), max_digits=9)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await task_admin.update_task(
                uow,
                guild_id=ctx.guild_id,
                task_id=task_id,
                changes=fields,
                version=version,
                actor_id=ctx.session.actor_id,
            )
            await uow.commit()
    except FORM_ERRORS as error:
        form.refused(error)
        return await _task_page(ctx, task_id, form, status=400)
    return await ctx.redirect(f"{ctx.base}/tasks/{task_id}", flash=("ok", "Task saved."))


async def set_status(ctx: Ctx) -> Response:
    """Archive (closes claims; current claims continue) or reopen a task."""
    task_id = _task_id(ctx)
    wanted = ctx.field("status")
    back = f"{ctx.base}/tasks/{task_id}"
    if wanted not in {"active", "archived"}:
        return await ctx.redirect(back, flash=("error", "Choose to archive or reopen."))
    async with unit_of_work(ctx.state.services) as uow:
        view = await task_admin.update_task(
            uow,
            guild_id=ctx.guild_id,
            task_id=task_id,
            changes={"status": wanted},
            actor_id=ctx.session.actor_id,
        )
        await uow.commit()
    message = f"{view.name} is open again." if wanted == "active" else f"{view.name} is archived."
    return await ctx.redirect(back, flash=("ok", message))


async def remove(ctx: Ctx) -> Response:
    task_id = _task_id(ctx)
    if ctx.field("confirm") != "yes":
        return await ctx.redirect(
            f"{ctx.base}/tasks/{task_id}", flash=("error", "Tick the box to confirm the deletion.")
        )
    async with unit_of_work(ctx.state.services) as uow:
        result = await task_admin.delete_task(
            uow, guild_id=ctx.guild_id, task_id=task_id, actor_id=ctx.session.actor_id
        )
        await uow.commit()
    return await ctx.redirect(
        f"{ctx.base}/tasks",
        flash=("ok", f"Task deleted with {result.claims_removed} claim(s)."),
    )


async def save_settings(ctx: Ctx) -> Response:
    """The guild's task settings (checkboxes, the per-member limit, two channels)."""
    back = f"{ctx.base}/tasks#task-settings"
    limit = parse_whole(ctx.field("max_tasks_per_user"), max_digits=4)
    if limit is None:
        return await ctx.redirect(back, flash=("error", "The task limit is a whole number."))
    changes = {
        "allow_user_tasks": ctx.field("allow_user_tasks") == "1",
        "auto_expire_enabled": ctx.field("auto_expire_enabled") == "1",
        "require_proof": ctx.field("require_proof") == "1",
        "max_tasks_per_user": limit,
        "announcement_channel_id": ctx.field("announcement_channel_id") or None,
        "review_channel_id": ctx.field("review_channel_id") or None,
    }
    version = parse_whole(ctx.field("version"), max_digits=9)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await task_admin.update_settings(
                uow, guild_id=ctx.guild_id, changes=changes, version=version
            )
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(back, flash=("ok", "Task settings saved."))


async def review_queue(ctx: Ctx) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        queue = await tasks.review_queue(uow, guild_id=ctx.guild_id)
        await uow.commit()
    await ctx.lookup_people([c.user_id for c in queue])
    return await ctx.render(
        "task_review.html",
        nav="tasks",
        live=True,
        config=config,
        queue=queue,
        previews=PREVIEW_HOSTS,
    )


async def review(ctx: Ctx) -> Response:
    """Accept or reject one proof (a rejection needs a reason, which the member sees)."""
    back = f"{ctx.base}/tasks/review"
    task_id = parse_whole(ctx.field("task_id"), max_digits=MAX_ID_DIGITS) or 0
    user_id, decision, reason = ctx.field("user_id"), ctx.field("decision"), ctx.field("reason")
    if decision not in {"accept", "reject"}:
        return await ctx.redirect(back, flash=("error", "Choose to accept or reject."))
    problem = text_problem(reason)
    if problem is not None:
        return await ctx.redirect(back, flash=("error", problem))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            claim = await task_service.review_task(
                uow,
                guild_id=ctx.guild_id,
                task_id=task_id,
                user_id=user_id,
                accept=decision == "accept",
                reviewer_id=ctx.session.actor_id,
                reason=reason[:200] or None,
            )
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    verb = "accepted: the reward is paid" if claim.status == "accepted" else "rejected"
    return await ctx.redirect(back, flash=("ok", f"Proof for {claim.task_name} {verb}."))


async def script(_: Request) -> Response:
    """The task pages' script: the table and the queue follow the event stream (the CSP
    takes scripts from this origin only)."""
    return FileResponse(SCRIPT, media_type="text/javascript")


routes: list[BaseRoute] = [
    Route("/tasks.js", script, methods=["GET"], name="tasks_script"),
    Route(
        "/guilds/{guild_id}/tasks",
        page(task_list, level=Level.MODERATOR, feature="tasks"),
        methods=["GET"],
        name="tasks",
    ),
    Route("/guilds/{guild_id}/tasks", page(create, feature="tasks"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/tasks/settings",
        page(save_settings, feature="tasks"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/tasks/review",
        page(review_queue, level=Level.MODERATOR, feature="tasks"),
        methods=["GET"],
        name="task_review",
    ),
    Route(
        "/guilds/{guild_id}/tasks/review",
        page(review, level=Level.MODERATOR, feature="tasks"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/tasks/{task_id}",
        page(task, level=Level.MODERATOR, feature="tasks"),
        methods=["GET"],
        name="task",
    ),
    Route("/guilds/{guild_id}/tasks/{task_id}", page(edit, feature="tasks"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/tasks/{task_id}/status",
        page(set_status, feature="tasks"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/tasks/{task_id}/delete",
        page(remove, feature="tasks"),
        methods=["POST"],
    ),
]
