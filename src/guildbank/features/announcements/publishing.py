"""The scheduler's side of announcements: posting the scheduled ones whose time has come.

Publishing is a conditional update (``status = 'scheduled'`` → ``'posted'``) with the post's
outbox job in the same transaction, so however many schedulers run, each is posted once.
"""

from __future__ import annotations

from sqlalchemy import select, update

from guildbank.features.announcements.showing import record_change, show_in_discord
from guildbank.platform.models.announcements import Announcement
from guildbank.platform.uow import UnitOfWork

__all__ = ["publish_due"]


async def publish_due(uow: UnitOfWork, *, limit: int = 100) -> list[int]:
    """Post scheduled announcements whose time has come; returns their ids.

    Each is claimed by a conditional update, so a concurrent publisher (another process
    whose lease overlapped) skips it rather than posting it twice.
    """
    due = list(
        (
            await uow.session.execute(
                select(Announcement.id)
                .where(Announcement.status == "scheduled", Announcement.scheduled_at <= uow.now)
                .order_by(Announcement.scheduled_at, Announcement.id)
                .limit(limit)
            )
        ).scalars()
    )
    posted: list[int] = []
    for announcement_id in due:
        claimed = await uow.session.execute(
            update(Announcement)
            .where(Announcement.id == announcement_id, Announcement.status == "scheduled")
            .values(status="posted", posted_at=uow.now, updated_at=uow.now)
            .returning(Announcement.id),
            execution_options={"synchronize_session": False},
        )
        if claimed.scalar_one_or_none() is None:
            continue
        row = await uow.session.get(Announcement, announcement_id, populate_existing=True)
        assert row is not None
        await show_in_discord(uow, row)
        record_change(uow, row, "posted")
        posted.append(announcement_id)
    return posted
