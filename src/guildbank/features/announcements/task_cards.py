"""The task announcement helper: an active task's card (name, description, reward, time to
finish, claims) posted as an announcement, in a given channel or the task's own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from guildbank.features.announcements.errors import (
    AnnouncementState,
    InvalidAnnouncement,
    TaskNotFound,
)
from guildbank.features.announcements.queries import announcement_view
from guildbank.features.announcements.schemas import AnnouncementOut
from guildbank.features.announcements.showing import record_change, show_in_discord
from guildbank.features.guilds.catalog import check_channel, load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.platform.models.announcements import Announcement
from guildbank.platform.models.tasks import Task
from guildbank.platform.uow import UnitOfWork

__all__ = ["task_announcement", "task_card"]


def task_card(task: Task) -> dict[str, Any]:
    """A task's card as an embed (what the task announcement helper posts)."""
    claims = "unlimited" if task.max_claims < 0 else f"{task.current_claims}/{task.max_claims}"
    embed: dict[str, Any] = {
        "title": f"New task: {task.name}"[:256],
        "color": 0x5865F2,
        "fields": [
            {"name": "Reward", "value": f"{task.reward:,}", "inline": True},
            {"name": "Time to finish", "value": f"{task.duration_hours} h", "inline": True},
            {"name": "Claims", "value": claims, "inline": True},
        ],
        "footer": {"text": f"Task #{task.id} · /task claim to take it"},
    }
    if task.description:
        embed["description"] = task.description[:4096]
    return embed


async def task_announcement(
    uow: UnitOfWork, *, guild_id: str, task_id: int, channel_id: str | None = None
) -> AnnouncementOut:
    """Announce an active task with its card, in ``channel_id`` or the task's channel."""
    await get_config(uow, guild_id)
    task = (
        await uow.session.execute(select(Task).where(Task.guild_id == guild_id, Task.id == task_id))
    ).scalar_one_or_none()
    if task is None:
        raise TaskNotFound(task_id)
    if task.status != "active":
        raise AnnouncementState(
            f"Task {task_id} is {task.status}: only active tasks are announced."
        )
    target = channel_id or task.channel_id
    if target is None:
        raise InvalidAnnouncement(
            "The task has no channel: name one (channel_id).", field="channel_id"
        )
    return await _create_task_card(uow, guild_id, target, task)


async def _create_task_card(
    uow: UnitOfWork, guild_id: str, channel_id: str, task: Task
) -> AnnouncementOut:
    await check_channel(uow, await load_catalog(uow, guild_id), channel_id, setting="channel_id")
    row = Announcement(
        guild_id=guild_id,
        channel_id=channel_id,
        content="",
        embed=task_card(task),
        status="posted",
        posted_at=uow.now,
        task_id=task.id,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    await show_in_discord(uow, row)
    record_change(uow, row, "posted")
    return await announcement_view(uow, row)
