"""What every announcement write shares: the outbox jobs that make Discord show an
announcement as it is now, and the event that tells the dashboard it changed.

An announcement's message is the outbox key ``announcement:{id}``: created by its first job,
edited in place by the next ones (recreated if it was deleted in Discord), deleted by a
``message.delete`` job; a pinned one's ``message.pin`` job follows each post.
"""

from __future__ import annotations

from guildbank.features.announcements.events import AnnouncementChanged
from guildbank.features.announcements.queries import announcement_key
from guildbank.outbox.service import enqueue_message, enqueue_pin
from guildbank.platform.models.announcements import Announcement
from guildbank.platform.uow import UnitOfWork

__all__ = ["record_change", "show_in_discord"]


async def show_in_discord(uow: UnitOfWork, row: Announcement) -> None:
    """Write the jobs that make Discord show ``row`` as it is now: the post, and the pin of a
    pinned one (again after every post: a message posted anew, or moved, is not pinned yet;
    pinning a pinned message changes nothing)."""
    row.orphaned_at = None
    await enqueue_message(
        uow,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        content=row.content,
        embeds=[row.embed] if row.embed else [],
        key=announcement_key(row.id),
    )
    if row.pin:
        await enqueue_pin(uow, guild_id=row.guild_id, key=announcement_key(row.id))


def record_change(uow: UnitOfWork, row: Announcement, action: str) -> None:
    """The ``announcement.changed`` event (the dashboard's live list), sent after commit."""
    uow.emit(
        AnnouncementChanged(
            guild_id=row.guild_id, announcement_id=row.id, status=row.status, action=action
        )
    )
