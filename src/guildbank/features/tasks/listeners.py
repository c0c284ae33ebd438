"""The task buttons and the reject modal, handled by custom id (``gbtask:<action>:…``).

Listeners rather than menus waiting in memory: a Claim button on a ``/tasks`` page, or
Accept/Reject on a proof, works until the message is gone, across bot restarts. Each press
is its own write with its own idempotency key (the interaction id): a double click is two
requests, and the API's guards (``already_claimed``, ``not_awaiting_review``) make the second
one change nothing. Moderation buttons check the presser's level first; the API refuses a
member reviewing their own proof.
"""

from __future__ import annotations

import hikari
import lightbulb
from hikari.impl import ModalActionRowBuilder

from guildbank.bot.checks import ADMIN_PERMISSIONS
from guildbank.bot.errors import explain, log_failure
from guildbank.bot.state import BotState
from guildbank.core.text import single_line
from guildbank.features.guilds.permissions import Level, level_of
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut
from guildbank.features.tasks.client import TasksClient
from guildbank.features.tasks.commands import open_tasks_page
from guildbank.features.tasks.render import PREFIX, claim_embed, proof_embed, review_row

__all__ = ["loader"]

loader = lightbulb.Loader()
REASON_INPUT = "reason"
EPHEMERAL = hikari.MessageFlag.EPHEMERAL


def _level(interaction: hikari.PartialInteraction, config: ConfigOut) -> Level:
    member = interaction.member
    if member is None:
        return Level.MEMBER
    guild = interaction.get_guild()
    return level_of(
        is_owner=guild is not None and guild.owner_id == member.id,
        manages_server=bool(member.permissions & ADMIN_PERMISSIONS),
        role_ids=[str(r) for r in member.role_ids],
        admin_roles=config.admin_role_ids,
        moderator_roles=config.moderator_role_ids,
    )


async def _tell(
    interaction: hikari.ComponentInteraction | hikari.ModalInteraction, text: str
) -> None:
    await interaction.create_initial_response(
        hikari.ResponseType.MESSAGE_CREATE, text, flags=EPHEMERAL
    )


@loader.listener(hikari.ComponentInteractionCreateEvent)
async def on_button(
    event: hikari.ComponentInteractionCreateEvent, state: BotState = lightbulb.di.INJECTED
) -> None:
    interaction = event.interaction
    if not interaction.custom_id.startswith(f"{PREFIX}:") or interaction.guild_id is None:
        return
    action, *args = interaction.custom_id.split(":")[1:]
    guild = str(interaction.guild_id)
    try:
        config = await state.config(guild)
        if not config.features.get("tasks", True):
            await _tell(interaction, "The tasks feature is disabled on this server.")
            return
        if action == "claim":
            claim = await state.client(TasksClient).claim_task(
                guild,
                int(args[0]),
                str(interaction.user.id),
                idempotency_key=f"task-claim:{interaction.id}",
            )
            await interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_CREATE,
                embed=claim_embed(claim, config),
                flags=EPHEMERAL,
            )
        elif action == "page":
            category = ":".join(args[1:]) or None
            embed, rows = await open_tasks_page(
                state, guild, offset=int(args[0]), category=category
            )
            await interaction.create_initial_response(
                hikari.ResponseType.MESSAGE_UPDATE, embed=embed, components=rows
            )
        elif action in ("accept", "reject"):
            if _level(interaction, config) < Level.MODERATOR:
                await _tell(interaction, "Only moderators can review proofs.")
                return
            if action == "accept":
                await _accept(interaction, state, config, int(args[0]), args[1])
            else:
                await interaction.create_modal_response(
                    "Reject this proof",
                    f"{PREFIX}:why:{args[0]}:{args[1]}",
                    components=[
                        ModalActionRowBuilder().add_text_input(
                            REASON_INPUT,
                            "Reason (the member sees it)",
                            max_length=200,
                            placeholder="What is missing?",
                        )
                    ],
                )
    except Exception as error:
        log_failure(error, f"task button {action}")
        await _tell(interaction, explain(error))


async def _accept(
    interaction: hikari.ComponentInteraction,
    state: BotState,
    config: ConfigOut,
    task_id: int,
    user_id: str,
) -> None:
    claim = await state.client(TasksClient).review_task(
        str(interaction.guild_id),
        task_id,
        user_id,
        accept=True,
        reviewer_id=str(interaction.user.id),
        idempotency_key=f"task-review:{interaction.id}",
    )
    await interaction.create_initial_response(
        hikari.ResponseType.MESSAGE_UPDATE,
        f"✅ Accepted by <@{interaction.user.id}>: <@{user_id}> earns "
        f"{money(claim.reward, config)}.",
        embed=proof_embed(claim, config),
        components=[review_row(task_id, user_id, disabled=True)],
    )


@loader.listener(hikari.ModalInteractionCreateEvent)
async def on_reject_reason(
    event: hikari.ModalInteractionCreateEvent, state: BotState = lightbulb.di.INJECTED
) -> None:
    interaction = event.interaction
    if not interaction.custom_id.startswith(f"{PREFIX}:why:") or interaction.guild_id is None:
        return
    task_id, user_id = interaction.custom_id.split(":")[2:4]
    reason = next(
        (
            single_line(c.value)
            for row in interaction.components
            for c in row
            if getattr(c, "custom_id", None) == REASON_INPUT
        ),
        "",
    )
    guild = str(interaction.guild_id)
    try:
        config = await state.config(guild)
        if _level(interaction, config) < Level.MODERATOR:
            await _tell(interaction, "Only moderators can review proofs.")
            return
        claim = await state.client(TasksClient).review_task(
            guild,
            int(task_id),
            user_id,
            accept=False,
            reviewer_id=str(interaction.user.id),
            reason=reason or None,
            idempotency_key=f"task-review:{interaction.id}",
        )
        await interaction.create_initial_response(
            hikari.ResponseType.MESSAGE_CREATE,
            f"❌ Rejected <@{user_id}>'s proof for **{claim.task_name}**: {reason}",
            flags=EPHEMERAL,
        )
    except Exception as error:
        log_failure(error, "task reject (modal)")
        await _tell(interaction, explain(error))
