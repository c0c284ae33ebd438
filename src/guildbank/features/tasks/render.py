"""What the task commands and buttons show: pages of open tasks with Claim buttons, claims,
proofs with Accept/Reject buttons.

Buttons carry stable custom ids (``gbtask:<action>:…``) handled by the listeners in
``listeners.py``, not by a menu waiting in memory: they keep working after a restart and on
any message that carries them.
"""

from __future__ import annotations

from collections.abc import Sequence

import hikari
from hikari.impl import MessageActionRowBuilder

from guildbank.bot.style import BLUE, GOLD, GREEN, GREY
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut
from guildbank.features.tasks.rules import BUTTON_PREFIX
from guildbank.features.tasks.schemas import MemberTaskOut, TaskOut

__all__ = [
    "PAGE_SIZE",
    "PREFIX",
    "claim_embed",
    "claims_embed",
    "page_rows",
    "proof_embed",
    "review_row",
    "task_label",
    "tasks_embed",
]

PAGE_SIZE = 5
PREFIX = BUTTON_PREFIX
STATUS_LABELS = {
    "in_progress": "🛠️ in progress",
    "submitted": "⏳ waiting for review",
    "accepted": "✅ accepted",
    "rejected": "❌ rejected: resubmit",
    "expired": "⌛ expired",
}


def _places(task: TaskOut) -> str:
    if task.max_claims == -1:
        return f"{task.current_claims} claimed"
    return f"{task.current_claims}/{task.max_claims} places taken"


def task_label(task: TaskOut, config: ConfigOut) -> str:
    """Plain text for autocomplete: name and reward."""
    return f"#{task.id} {task.name} — {task.reward:,} {config.currency_name}"[:100]


def tasks_embed(
    tasks: Sequence[TaskOut], config: ConfigOut, *, page: int, category: str | None
) -> hikari.Embed:
    title = "Open tasks" + (f" · {category}" if category else "")
    embed = hikari.Embed(title=title, color=GREEN if tasks else GREY)
    if not tasks:
        embed.description = "No open task right now." if page == 0 else "No more tasks."
        return embed
    for task in tasks:
        closes = f"<t:{int(task.expires_at.timestamp())}:R>"
        lines = [
            f"{money(task.reward, config)} · {task.duration_hours} h to complete",
            f"{_places(task)} · closes {closes}",
        ]
        if task.description:
            lines.append(task.description[:200])
        embed.add_field(f"#{task.id} {task.name}"[:256], "\n".join(lines)[:1024])
    embed.set_footer(f"Page {page + 1}")
    return embed


def page_rows(
    tasks: Sequence[TaskOut], *, offset: int, more: bool, category: str | None
) -> list[MessageActionRowBuilder]:
    """A Claim button per task, then Previous/Next when there are other pages."""
    rows = []
    if tasks:
        claims = MessageActionRowBuilder()
        for task in tasks[:PAGE_SIZE]:
            claims.add_interactive_button(
                hikari.ButtonStyle.SUCCESS, f"{PREFIX}:claim:{task.id}", label=f"Claim #{task.id}"
            )
        rows.append(claims)
    if offset > 0 or more:
        suffix = f":{category}" if category else ""
        nav = MessageActionRowBuilder()
        nav.add_interactive_button(
            hikari.ButtonStyle.SECONDARY,
            f"{PREFIX}:page:{max(0, offset - PAGE_SIZE)}{suffix}",
            label="Previous",
            is_disabled=offset == 0,
        )
        nav.add_interactive_button(
            hikari.ButtonStyle.SECONDARY,
            f"{PREFIX}:page:{offset + PAGE_SIZE}{suffix}",
            label="Next",
            is_disabled=not more,
        )
        rows.append(nav)
    return rows


def claim_embed(claim: MemberTaskOut, config: ConfigOut) -> hikari.Embed:
    """A member's claim right after they claimed it."""
    return hikari.Embed(
        title=f"You claimed {claim.task_name}",
        description=(
            f"Submit your proof with `/task submit` before <t:{int(claim.deadline.timestamp())}:f> "
            f"to earn {money(claim.reward, config)}."
        ),
        color=GREEN,
    )


def claims_embed(claims: Sequence[MemberTaskOut], config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(title="Your tasks", color=BLUE)
    if not claims:
        embed.description = "You have no task yet: see `/tasks`."
        return embed
    for claim in claims[:25]:
        lines = [STATUS_LABELS.get(claim.status, claim.status), money(claim.reward, config)]
        if claim.status in ("in_progress", "rejected"):
            lines.append(f"due <t:{int(claim.deadline.timestamp())}:R>")
        if claim.status == "rejected" and claim.rejection_reason:
            lines.append(f"reason: {claim.rejection_reason}")
        embed.add_field(f"#{claim.task_id} {claim.task_name}"[:256], " · ".join(lines)[:1024])
    return embed


def proof_embed(claim: MemberTaskOut, config: ConfigOut) -> hikari.Embed:
    """A proof as a moderator reviews it."""
    embed = hikari.Embed(
        title=f"Proof: {claim.task_name}"[:256],
        description=(
            f"<@{claim.user_id}> · {money(claim.reward, config)}\n\n{claim.proof_text or ''}"
        )[:4096],
        color=GOLD if claim.status == "submitted" else GREY,
    )
    for n, url in enumerate(claim.proof_urls, 1):
        embed.add_field(f"Attachment {n}", url[:1024])
    if claim.proof_urls:
        embed.set_image(claim.proof_urls[0])
    embed.add_field("Status", STATUS_LABELS.get(claim.status, claim.status))
    return embed


def review_row(task_id: int, user_id: str, *, disabled: bool = False) -> MessageActionRowBuilder:
    row = MessageActionRowBuilder()
    row.add_interactive_button(
        hikari.ButtonStyle.SUCCESS,
        f"{PREFIX}:accept:{task_id}:{user_id}",
        label="Accept",
        is_disabled=disabled,
    )
    row.add_interactive_button(
        hikari.ButtonStyle.DANGER,
        f"{PREFIX}:reject:{task_id}:{user_id}",
        label="Reject",
        is_disabled=disabled,
    )
    return row
