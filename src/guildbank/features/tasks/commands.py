"""``/tasks`` and ``/task claim|submit|mine|abandon|create|review``.

The API decides (places, limits, proof rules, who is paid); commands parse options, call it
through the client and render the answer. Writes carry an idempotency key from the
interaction id, so a redelivered command never claims or pays twice. The buttons the
answers carry are handled in ``listeners.py``.
"""

from __future__ import annotations

import hikari
import lightbulb
import structlog
from lightbulb.components import Modal, ModalContext

from guildbank.bot.checks import IN_GUILDS, member_level, moderator, toggled_by
from guildbank.bot.errors import explain, log_failure
from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.core.text import parse_whole, single_line
from guildbank.features.guilds.permissions import Level
from guildbank.features.tasks.client import TasksClient
from guildbank.features.tasks.render import (
    PAGE_SIZE,
    claim_embed,
    claims_embed,
    page_rows,
    proof_embed,
    review_row,
    task_label,
    tasks_embed,
)
from guildbank.features.tasks.rules import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PROOF_LENGTH,
)

__all__ = ["loader", "open_tasks_page"]

MAX_CHOICES = 25
MODAL_TIMEOUT_SECONDS = 600
log = structlog.get_logger(__name__)

loader = lightbulb.Loader()
task_group = lightbulb.Group("task", "Claim tasks, submit proof, see yours", contexts=IN_GUILDS)


def _ids(ctx: lightbulb.Context) -> tuple[str, str]:
    return str(ctx.guild_id), str(ctx.user.id)


async def open_tasks_page(
    state: BotState, guild: str, *, offset: int, category: str | None
) -> tuple[hikari.Embed, list[hikari.api.ComponentBuilder]]:
    """One page of open tasks with Claim buttons (shared with the Previous/Next buttons)."""
    found = await state.client(TasksClient).tasks(
        guild, category=category, open_only=True, limit=PAGE_SIZE + 1, offset=offset
    )
    page, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    embed = tasks_embed(
        page, await state.config(guild), page=offset // PAGE_SIZE, category=category
    )
    return embed, list(page_rows(page, offset=offset, more=more, category=category))


@loader.command
class Tasks(
    lightbulb.SlashCommand,
    name="tasks",
    description="Open tasks you can claim",
    contexts=IN_GUILDS,
):
    category = lightbulb.string(
        "category", "Only this category", default=None, max_length=MAX_CATEGORY_LENGTH
    )

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        embed, rows = await open_tasks_page(
            state, str(ctx.guild_id), offset=0, category=self.category
        )
        await ctx.respond(embed=embed, components=rows)


@lightbulb.di.with_di
async def open_task_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    """Open tasks whose name contains what was typed."""
    guild = str(ctx.interaction.guild_id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        tasks = await state.client(TasksClient).tasks(guild, open_only=True, limit=100)
        config = await state.config(guild)
    except ApiError as error:
        log.warning("task autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    matches = [t for t in tasks if typed in t.name.casefold() or typed == str(t.id)]
    await ctx.respond([(task_label(t, config), str(t.id)) for t in matches[:MAX_CHOICES]])


@lightbulb.di.with_di
async def my_task_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    """The member's claims they can still act on."""
    guild, user = str(ctx.interaction.guild_id), str(ctx.interaction.user.id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        claims = await state.client(TasksClient).member_tasks(guild, user)
    except ApiError as error:
        log.warning("task autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    open_claims = [c for c in claims if c.status in ("in_progress", "rejected")]
    matches = [c for c in open_claims if typed in c.task_name.casefold()]
    await ctx.respond([(f"#{c.task_id} {c.task_name}"[:100], str(c.task_id)) for c in matches])


@lightbulb.di.with_di
async def review_task_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    """Tasks with proofs waiting for review, with how many wait."""
    guild = str(ctx.interaction.guild_id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        queue = await state.client(TasksClient).task_review_queue(guild)
    except ApiError as error:
        log.warning("task autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    waiting: dict[int, tuple[str, int]] = {}
    for claim in queue:
        name, count = waiting.get(claim.task_id, (claim.task_name, 0))
        waiting[claim.task_id] = (name, count + 1)
    choices = [
        (f"#{task_id} {name} — {count} waiting"[:100], str(task_id))
        for task_id, (name, count) in waiting.items()
        if typed in name.casefold() or typed == str(task_id)
    ]
    await ctx.respond(choices[:MAX_CHOICES])


def _task_id(value: str) -> int | None:
    """A task picked from autocomplete (its id) or typed as ``12`` or ``#12``."""
    return parse_whole(value.strip().removeprefix("#"), max_digits=18)


async def _refuse_unknown(ctx: lightbulb.Context, value: str) -> None:
    await ctx.respond(f"{value!r} is not a task number: pick one from the list.", ephemeral=True)


@task_group.register
class Claim(lightbulb.SlashCommand, name="claim", description="Claim a task"):
    task = lightbulb.string("task", "Which task", autocomplete=open_task_choices)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        task_id = _task_id(self.task)
        if task_id is None:
            await _refuse_unknown(ctx, self.task)
            return
        guild, user = _ids(ctx)
        claim = await state.client(TasksClient).claim_task(
            guild, task_id, user, idempotency_key=f"task-claim:{ctx.interaction.id}"
        )
        await ctx.respond(embed=claim_embed(claim, await state.config(guild)), ephemeral=True)


@task_group.register
class Submit(lightbulb.SlashCommand, name="submit", description="Submit proof for your task"):
    task = lightbulb.string("task", "Which of your tasks", autocomplete=my_task_choices)
    proof = lightbulb.string("proof", "What you did", default=None, max_length=MAX_PROOF_LENGTH)
    attachment = lightbulb.attachment("attachment", "A screenshot or file", default=None)
    link = lightbulb.string("link", "A link to your proof", default=None, max_length=500)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        task_id = _task_id(self.task)
        if task_id is None:
            await _refuse_unknown(ctx, self.task)
            return
        guild, user = _ids(ctx)
        urls = [u for u in (self.attachment.url if self.attachment else None, self.link) if u]
        claim = await state.client(TasksClient).submit_proof(
            guild,
            task_id,
            user,
            proof=self.proof,
            attachments=urls,
            idempotency_key=f"task-submit:{ctx.interaction.id}",
        )
        await ctx.respond(
            f"Proof for **{claim.task_name}** submitted: a moderator will review it.",
            ephemeral=True,
        )


@task_group.register
class Mine(lightbulb.SlashCommand, name="mine", description="Your tasks and where they stand"):
    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        claims = await state.client(TasksClient).member_tasks(guild, user)
        await ctx.respond(embed=claims_embed(claims, await state.config(guild)), ephemeral=True)


@task_group.register
class Abandon(lightbulb.SlashCommand, name="abandon", description="Give a task up"):
    task = lightbulb.string("task", "Which of your tasks", autocomplete=my_task_choices)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        task_id = _task_id(self.task)
        if task_id is None:
            await _refuse_unknown(ctx, self.task)
            return
        guild, user = _ids(ctx)
        claim = await state.client(TasksClient).abandon_task(
            guild, task_id, user, idempotency_key=f"task-abandon:{ctx.interaction.id}"
        )
        await ctx.respond(f"You gave up **{claim.task_name}**.", ephemeral=True)


@task_group.register
class Review(
    lightbulb.SlashCommand,
    name="review",
    description="Review a member's proof (moderators)",
    hooks=[moderator],
):
    task = lightbulb.string("task", "Which task", autocomplete=review_task_choices)
    member = lightbulb.user("member", "Whose proof")

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        task_id = _task_id(self.task)
        if task_id is None:
            await _refuse_unknown(ctx, self.task)
            return
        guild, user = str(ctx.guild_id), str(self.member.id)
        queue = await state.client(TasksClient).task_review_queue(guild, task_id=task_id)
        claim = next((c for c in queue if c.user_id == user), None)
        if claim is None:
            await ctx.respond(
                f"<@{user}> has no proof waiting for review on task #{task_id}.", ephemeral=True
            )
            return
        await ctx.respond(
            embed=proof_embed(claim, await state.config(guild)),
            components=[review_row(task_id, user)],
            ephemeral=True,
        )


class CreateModal(Modal):
    """Name, reward, duration, places and description of a new task."""

    def __init__(self, state: BotState) -> None:
        self.state = state
        self.name = self.add_short_text_input("Name", max_length=MAX_NAME_LENGTH)
        self.reward = self.add_short_text_input("Reward", max_length=16, placeholder="e.g. 100")
        self.hours = self.add_short_text_input(
            "Hours to complete", max_length=4, value="24", placeholder="e.g. 24"
        )
        self.places = self.add_short_text_input(
            "Places (empty: unlimited)", required=False, max_length=7
        )
        self.description = self.add_paragraph_text_input(
            "Description", required=False, max_length=MAX_DESCRIPTION_LENGTH
        )

    async def on_submit(self, ctx: ModalContext[None]) -> None:
        reward = parse_whole(ctx.value_for(self.reward) or "")
        hours = parse_whole(ctx.value_for(self.hours) or "")
        raw_places = (ctx.value_for(self.places) or "").strip()
        places = parse_whole(raw_places) if raw_places else -1
        if reward is None or reward < 0 or hours is None or hours < 1 or places is None:
            await ctx.respond(
                "Reward, hours and places are whole numbers (reward 0 or more, hours 1 or more).",
                ephemeral=True,
            )
            return
        guild = str(ctx.interaction.guild_id)
        try:
            task = await self.state.client(TasksClient).create_task(
                guild,
                name=single_line(ctx.value_for(self.name) or ""),
                reward=reward,
                duration_hours=hours,
                max_claims=places,
                description=ctx.value_for(self.description) or "",
                actor_id=str(ctx.user.id),
                idempotency_key=f"task-create:{ctx.interaction.id}",
            )
        except Exception as error:
            # A modal submission is not a command: lightbulb's error handler never sees it.
            log_failure(error, "task create (modal)")
            await ctx.respond(explain(error), ephemeral=True)
            return
        await ctx.respond(f"Task #{task.id} **{task.name}** created.", ephemeral=True)


@task_group.register
class Create(lightbulb.SlashCommand, name="create", description="Create a task (moderators)"):
    @lightbulb.invoke
    async def invoke(
        self, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        guild = str(ctx.guild_id)
        if member_level(ctx, await state.config(guild)) < Level.MODERATOR:
            settings = await state.client(TasksClient).task_settings(guild)
            if not settings.allow_user_tasks:
                await ctx.respond("Only moderators can create tasks here.", ephemeral=True)
                return
        modal = CreateModal(state)
        custom_id = f"task-create:{ctx.interaction.id}"
        await ctx.respond_with_modal("New task", custom_id, components=modal)
        try:
            await modal.attach(client, custom_id, timeout=MODAL_TIMEOUT_SECONDS)
        except TimeoutError:
            return  # the member closed the modal


loader.command(task_group)
# Each answers "disabled on this server" while the guild has tasks off.
toggled_by("tasks", "tasks", "task")
