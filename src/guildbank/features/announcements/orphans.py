"""Announcements whose message was deleted in Discord (the bot reports the deletion): flagged
as orphaned, so the dashboard says so and the next edit posts the message again."""

from __future__ import annotations

from sqlalchemy import select

from guildbank.features.announcements.queries import (
    announcement_view,
    get_announcement_or_raise,
)
from guildbank.features.announcements.schemas import AnnouncementOut
from guildbank.features.announcements.showing import record_change
from guildbank.outbox.rules import MESSAGE_POST, message_key
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.uow import UnitOfWork

__all__ = ["flag_orphan"]


async def flag_orphan(
    uow: UnitOfWork, *, guild_id: str, channel_id: str, message_id: str
) -> AnnouncementOut | None:
    """The bot saw a message deleted in Discord: if it showed an announcement, flag it."""
    key = (
        await uow.session.execute(
            select(OutboxMessage.key).where(
                OutboxMessage.guild_id == guild_id,
                OutboxMessage.channel_id == channel_id,
                OutboxMessage.message_id == message_id,
            )
        )
    ).scalar_one_or_none()
    if key is None or not key.startswith("announcement:"):
        return None
    open_jobs = await uow.session.execute(
        select(OutboxJob.kind, OutboxJob.payload).where(
            OutboxJob.guild_id == guild_id,
            OutboxJob.dedupe_key == message_key(key),
            OutboxJob.status.in_(("pending", "running")),
        )
    )
    for kind, payload in open_jobs:
        if kind != MESSAGE_POST or payload.get("channel_id") != channel_id:
            return None  # the worker is moving it to another channel, or deleting it
    row = await get_announcement_or_raise(
        uow, guild_id=guild_id, announcement_id=int(key.split(":", 1)[1])
    )
    if row.status != "posted" or row.orphaned_at is not None:
        return await announcement_view(uow, row)
    row.orphaned_at = uow.now
    await uow.session.flush()
    record_change(uow, row, "orphaned")
    return await announcement_view(uow, row)
