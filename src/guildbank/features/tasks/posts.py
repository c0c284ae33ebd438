"""The Discord posts tasks keep up to date, written as outbox jobs in the caller's unit of work.

A task's post (key ``task:{id}``) is created when the task is, edited on every change (claims,
edits, archive, expiry) and deleted with it; jobs with the same key coalesce, so a burst of
claims is one edit. A submitted proof gets a post in the review channel (key
``task.proof:{claim id}``), edited when it is reviewed. Where to post: the task's channel, else
the task settings' announcement channel, else the guild's task channel; proofs go to the
review channel, else where the task is posted. No channel: no post (the dashboard still works).

The posts carry the buttons the bot's listeners answer (``listeners.py``, custom ids
``gbtask:claim:{task}``, ``gbtask:accept|reject:{task}:{user}``): Claim on an active task's post
(greyed out while every place is taken), Accept/Reject on a proof waiting for review. A review
also sends the member a DM with the outcome (``dm.send``, one per claim and outcome).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.tasks.queries import proof_key, task_key
from guildbank.features.tasks.rules import BUTTON_PREFIX as PREFIX
from guildbank.features.tasks.rules import TaskSettingsValues
from guildbank.outbox.service import enqueue_dm, enqueue_message
from guildbank.platform.clock import as_utc
from guildbank.platform.models.guilds import Guild
from guildbank.platform.models.tasks import MemberTask, Task
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "claim_row",
    "delete_posts",
    "dm_review",
    "post_proof",
    "post_task",
    "proof_embed",
    "review_buttons",
    "review_dm_key",
    "task_embed",
]

ACTIVE_COLOUR = 0x2ECC71
CLOSED_COLOUR = 0x95A5A6
REVIEW_COLOUR = 0xF1C40F
REJECTED_COLOUR = 0xE74C3C
SUCCESS, DANGER = 3, 4  # Discord's button styles


def task_channel(task: Task, settings: TaskSettingsValues, config: EconomyConfig) -> str | None:
    return task.channel_id or settings.announcement_channel_id or config.task_channel_id


def review_channel(task: Task, settings: TaskSettingsValues, config: EconomyConfig) -> str | None:
    return settings.review_channel_id or task_channel(task, settings, config)


def _claims(task: Task) -> str:
    limit = "∞" if task.max_claims == -1 else str(task.max_claims)
    return f"{task.current_claims}/{limit}"


def task_embed(task: Task, config: EconomyConfig) -> dict[str, Any]:
    """The task's post: what it pays, how many places are taken, when it closes."""
    status = task.status
    title = task.name if status == "active" else f"[{status.title()}] {task.name}"
    fields = [
        {"name": "Reward", "value": f"{task.reward:,} {config.currency_name}", "inline": True},
        {"name": "Claims", "value": _claims(task), "inline": True},
        {"name": "Time to complete", "value": f"{task.duration_hours} h", "inline": True},
    ]
    if status == "active":
        closes = int(as_utc(task.expires_at).timestamp())
        fields.append({"name": "Open until", "value": f"<t:{closes}:R>", "inline": True})
    if task.category:
        fields.append({"name": "Category", "value": task.category, "inline": True})
    if task.role_id:
        fields.append(
            {"name": "Role on completion", "value": f"<@&{task.role_id}>", "inline": True}
        )
    return {
        "title": title[:256],
        "description": task.description[:4096] or None,
        "color": ACTIVE_COLOUR if status == "active" else CLOSED_COLOUR,
        "fields": fields,
        "footer": {"text": f"Task #{task.id} · {status}"},
    }


def _full(task: Task) -> bool:
    return task.max_claims != -1 and task.current_claims >= task.max_claims


def claim_row(task: Task) -> dict[str, Any]:
    """The task post's Claim button (greyed out while every place is taken)."""
    button = {
        "type": 2,
        "style": SUCCESS,
        "custom_id": f"{PREFIX}:claim:{task.id}",
        "label": "Claim",
        "disabled": _full(task),
    }
    return {"type": 1, "components": [button]}


def review_buttons(claim: MemberTask, task: Task) -> dict[str, Any]:
    """The proof post's Accept and Reject buttons (Reject asks the reason in a modal)."""
    ids = f"{task.id}:{claim.user_id}"
    return {
        "type": 1,
        "components": [
            {"type": 2, "style": SUCCESS, "custom_id": f"{PREFIX}:accept:{ids}", "label": "Accept"},
            {"type": 2, "style": DANGER, "custom_id": f"{PREFIX}:reject:{ids}", "label": "Reject"},
        ],
    }


async def post_task(
    uow: UnitOfWork, task: Task, settings: TaskSettingsValues, config: EconomyConfig
) -> None:
    """Create or edit the task's post (claims closed once it is not active)."""
    channel = task_channel(task, settings, config)
    if channel is None:
        return
    active = task.status == "active"
    hint = (
        f"Press Claim, or use `/task claim task:{task.id}`." if active else "This task is closed."
    )
    embed = {k: v for k, v in task_embed(task, config).items() if v is not None}
    await enqueue_message(
        uow,
        guild_id=task.guild_id,
        channel_id=channel,
        content=hint,
        embeds=[embed],
        key=task_key(task.id),
        components=[claim_row(task)] if active else None,
    )


def proof_embed(claim: MemberTask, task: Task, config: EconomyConfig) -> dict[str, Any]:
    """A proof as moderators review it; after the review, its outcome."""
    lines = [f"<@{claim.user_id}> submitted proof for **{task.name}** (task #{task.id})."]
    if claim.proof_text:
        lines.append(claim.proof_text[:3000])
    urls = list(claim.proof_urls or [])
    if urls:
        lines.append("\n".join(f"[Attachment {n}]({url})" for n, url in enumerate(urls, 1)))
    colour = REVIEW_COLOUR
    outcome = "Waiting for review"
    by = f"<@{claim.reviewer_id}>" if claim.reviewer_id else "an admin"
    if claim.status == "accepted":
        colour = ACTIVE_COLOUR
        outcome = f"Accepted by {by}: +{task.reward:,} {config.currency_name}"
    elif claim.status == "rejected":
        colour = REJECTED_COLOUR
        outcome = f"Rejected by {by}: {claim.rejection_reason}"
    elif claim.status == "expired":
        colour = CLOSED_COLOUR
        outcome = "Expired"
    embed: dict[str, Any] = {
        "title": f"Proof: {task.name}"[:256],
        "description": "\n\n".join(lines)[:4096],
        "color": colour,
        "fields": [{"name": "Status", "value": outcome[:1024]}],
        "footer": {"text": f"Task #{task.id} · claim #{claim.id}"},
    }
    if urls:
        embed["image"] = {"url": urls[0]}
    return embed


async def post_proof(
    uow: UnitOfWork,
    claim: MemberTask,
    task: Task,
    settings: TaskSettingsValues,
    config: EconomyConfig,
) -> None:
    """Create or edit the proof's post in the review channel."""
    channel = review_channel(task, settings, config)
    if channel is None:
        return
    waiting = claim.status == "submitted"
    hint = "Accept or Reject here, or on the dashboard's review queue." if waiting else ""
    await enqueue_message(
        uow,
        guild_id=task.guild_id,
        channel_id=channel,
        content=hint,
        embeds=[proof_embed(claim, task, config)],
        key=proof_key(claim.id),
        # Reviewed (or expired): the buttons go, the embed shows the outcome.
        components=[review_buttons(claim, task)] if waiting else None,
    )


def review_dm_key(claim: MemberTask) -> str:
    """One DM per claim and outcome: a review repeated before the DM went out sends one."""
    return f"dm:task.{claim.status}:{claim.id}"


async def dm_review(uow: UnitOfWork, claim: MemberTask, task: Task, config: EconomyConfig) -> None:
    """Tell the member the review's outcome in a DM (with the reason of a rejection)."""
    server = await uow.session.scalar(select(Guild.name).where(Guild.id == task.guild_id))
    where = f" on **{server}**" if server else ""
    if claim.status == "accepted":
        paid = f" You earned {task.reward:,} {config.currency_name}." if task.reward else ""
        text = f"✅ Your proof for **{task.name}** (task #{task.id}){where} was accepted.{paid}"
    else:
        text = (
            f"❌ Your proof for **{task.name}** (task #{task.id}){where} was rejected: "
            f"{claim.rejection_reason}\nFix it and submit again with "
            f"`/task submit task:{task.id}` before your deadline."
        )
    await enqueue_dm(
        uow,
        guild_id=task.guild_id,
        user_id=claim.user_id,
        content=text[:2000],
        dedupe_key=review_dm_key(claim),
    )


async def delete_posts(uow: UnitOfWork, guild_id: str, keys: list[str]) -> None:
    for key in keys:
        await enqueue_message(uow, guild_id=guild_id, channel_id="0", key=key, delete=True)
