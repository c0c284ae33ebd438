"""Announcements (writes): create (now or scheduled), edit, cancel, delete, pin and unpin.

Their Discord side is outbox jobs (``showing``). Elsewhere: the task announcement helper
(``task_cards``), the scheduler's posting of due ones (``publishing``), messages deleted in
Discord (``orphans``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from guildbank.features.announcements.embeds import checked_embed
from guildbank.features.announcements.errors import (
    AnnouncementState,
    InvalidAnnouncement,
    StaleVersion,
)
from guildbank.features.announcements.queries import (
    announcement_key,
    announcement_view,
    get_announcement_or_raise,
    get_embed_or_raise,
)
from guildbank.features.announcements.schemas import AnnouncementOut, EmbedIn
from guildbank.features.announcements.showing import record_change, show_in_discord
from guildbank.features.guilds.catalog import check_channel, load_catalog
from guildbank.features.guilds.queries import get_config
from guildbank.outbox.service import enqueue_message, enqueue_pin
from guildbank.platform.models.announcements import Announcement
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "cancel_announcement",
    "create_announcement",
    "delete_announcement",
    "set_pin",
    "update_announcement",
]


def _utc(moment: datetime) -> datetime:
    """In UTC (SQLite keeps no offset: a Paris time stored as is would move by hours)."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past what a datetime holds in UTC
        raise InvalidAnnouncement("scheduled_at is out of range.", field="scheduled_at") from None


async def _embed_of(
    uow: UnitOfWork, guild_id: str, embed: EmbedIn | None, embed_id: int | None
) -> dict[str, Any] | None:
    if embed is not None and embed_id is not None:
        raise InvalidAnnouncement("Send an embed or an embed_id, not both.")
    if embed is not None:
        return checked_embed(embed, prefix="embed.")
    if embed_id is not None:
        return dict((await get_embed_or_raise(uow, guild_id=guild_id, embed_id=embed_id)).embed)
    return None


def _needs_something(content: str, embed: dict[str, Any] | None) -> None:
    if not content.strip() and not embed:
        raise InvalidAnnouncement("An announcement needs a content, an embed, or both.")


async def create_announcement(
    uow: UnitOfWork,
    *,
    guild_id: str,
    channel_id: str,
    content: str = "",
    embed: EmbedIn | None = None,
    embed_id: int | None = None,
    pin: bool = False,
    scheduled_at: datetime | None = None,
    created_by: str | None = None,
    task_id: int | None = None,
) -> AnnouncementOut:
    """Post now, or at ``scheduled_at`` (which must be in the future)."""
    await get_config(uow, guild_id)
    data = await _embed_of(uow, guild_id, embed, embed_id)
    _needs_something(content, data)
    if scheduled_at is not None:
        scheduled_at = _utc(scheduled_at)
    if scheduled_at is not None and scheduled_at <= uow.now:
        raise InvalidAnnouncement(
            "scheduled_at is in the past: leave it out to post now.", field="scheduled_at"
        )
    await check_channel(uow, await load_catalog(uow, guild_id), channel_id, setting="channel_id")
    row = Announcement(
        guild_id=guild_id,
        channel_id=channel_id,
        content=content,
        embed=data,
        pin=pin,
        status="scheduled" if scheduled_at is not None else "posted",
        scheduled_at=scheduled_at,
        posted_at=None if scheduled_at is not None else uow.now,
        task_id=task_id,
        created_by=created_by,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "posted":
        await show_in_discord(uow, row)
    record_change(uow, row, "scheduled" if scheduled_at is not None else "posted")
    return await announcement_view(uow, row)


async def update_announcement(
    uow: UnitOfWork,
    *,
    guild_id: str,
    announcement_id: int,
    content: str | None = None,
    embed: EmbedIn | None = None,
    remove_embed: bool = False,
    channel_id: str | None = None,
    scheduled_at: datetime | None = None,
    expected_version: int | None = None,
) -> AnnouncementOut:
    """Change a scheduled or posted announcement; a posted one's message is edited (moved
    when the channel changes, posted again when it was deleted in Discord)."""
    await get_config(uow, guild_id)
    row = await get_announcement_or_raise(uow, guild_id=guild_id, announcement_id=announcement_id)
    if row.status not in ("scheduled", "posted"):
        raise AnnouncementState(f"Announcement {row.id} is {row.status}: it cannot be edited.")
    if expected_version is not None and expected_version != row.version:
        raise StaleVersion(
            what=f"Announcement {row.id}", expected=expected_version, current=row.version
        )
    if scheduled_at is not None:
        if row.status != "scheduled":
            raise AnnouncementState(f"Announcement {row.id} was already posted.")
        if _utc(scheduled_at) <= uow.now:
            raise InvalidAnnouncement("scheduled_at is in the past.", field="scheduled_at")
        row.scheduled_at = _utc(scheduled_at)
    if content is not None:
        row.content = content
    if remove_embed and embed is not None:
        raise InvalidAnnouncement("Send an embed or remove_embed, not both.")
    if embed is not None:
        row.embed = checked_embed(embed, prefix="embed.")
    elif remove_embed:
        row.embed = None
    _needs_something(row.content, row.embed)
    if channel_id is not None and channel_id != row.channel_id:
        catalog = await load_catalog(uow, guild_id)
        await check_channel(uow, catalog, channel_id, setting="channel_id")
        row.channel_id = channel_id
    row.version += 1
    row.updated_at = uow.now
    if row.status == "posted":
        await show_in_discord(uow, row)
    await uow.session.flush()
    record_change(uow, row, "updated")
    return await announcement_view(uow, row)


async def cancel_announcement(
    uow: UnitOfWork, *, guild_id: str, announcement_id: int
) -> AnnouncementOut:
    """A scheduled announcement is not posted after all."""
    await get_config(uow, guild_id)
    row = await get_announcement_or_raise(uow, guild_id=guild_id, announcement_id=announcement_id)
    if row.status != "scheduled":
        raise AnnouncementState(
            f"Announcement {row.id} is {row.status}: only a scheduled one can be cancelled."
        )
    row.status, row.updated_at = "cancelled", uow.now
    row.version += 1
    await uow.session.flush()
    record_change(uow, row, "cancelled")
    return await announcement_view(uow, row)


async def delete_announcement(
    uow: UnitOfWork, *, guild_id: str, announcement_id: int, delete_message: bool = True
) -> AnnouncementOut:
    """Mark it deleted (a scheduled one is thereby cancelled); with ``delete_message`` its
    Discord message goes too."""
    await get_config(uow, guild_id)
    row = await get_announcement_or_raise(uow, guild_id=guild_id, announcement_id=announcement_id)
    if row.status == "deleted":
        raise AnnouncementState(f"Announcement {row.id} is already deleted.")
    if row.status == "posted" and delete_message:
        await enqueue_message(
            uow,
            guild_id=guild_id,
            channel_id=row.channel_id,
            key=announcement_key(row.id),
            delete=True,
        )
    row.status, row.updated_at = "deleted", uow.now
    row.version += 1
    await uow.session.flush()
    record_change(uow, row, "deleted")
    return await announcement_view(uow, row)


async def set_pin(
    uow: UnitOfWork, *, guild_id: str, announcement_id: int, pinned: bool
) -> AnnouncementOut:
    """Pin or unpin the message: a posted one's ``message.pin``/``message.unpin`` job now
    (it waits for a post still under way); a scheduled one is pinned when it is posted."""
    await get_config(uow, guild_id)
    row = await get_announcement_or_raise(uow, guild_id=guild_id, announcement_id=announcement_id)
    if row.status not in ("scheduled", "posted"):
        raise AnnouncementState(f"Announcement {row.id} is {row.status}: it cannot be pinned.")
    row.pin, row.updated_at = pinned, uow.now
    row.version += 1
    if row.status == "posted":
        await enqueue_pin(uow, guild_id=guild_id, key=announcement_key(row.id), pinned=pinned)
    await uow.session.flush()
    record_change(uow, row, "pinned" if pinned else "unpinned")
    return await announcement_view(uow, row)
