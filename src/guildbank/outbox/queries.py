"""Reading the outbox: a guild's jobs for the Sync page, counts for its badge, the backlog
for ``/health/detailed``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from guildbank.outbox.errors import JobNotFound
from guildbank.outbox.schemas import BacklogOut, JobOut, StatusCounts
from guildbank.platform.clock import as_utc
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import UnitOfWork

__all__ = ["backlog", "failed_count", "get_job", "list_jobs", "status_counts"]

COUNTED = ("pending", "running", "failed")


async def list_jobs(
    uow: UnitOfWork,
    *,
    guild_id: str,
    statuses: Sequence[str] = ("pending", "running", "failed"),
    limit: int = 50,
    offset: int = 0,
) -> list[JobOut]:
    """A guild's jobs in these states, newest first."""
    rows = await uow.session.scalars(
        select(OutboxJob)
        .where(OutboxJob.guild_id == guild_id, OutboxJob.status.in_(statuses))
        .order_by(OutboxJob.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [JobOut.model_validate(row) for row in rows]


async def get_job(uow: UnitOfWork, *, guild_id: str, job_id: int) -> JobOut:
    job = await uow.session.scalar(
        select(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.guild_id == guild_id)
    )
    if job is None:
        raise JobNotFound(job_id)
    return JobOut.model_validate(job)


async def status_counts(uow: UnitOfWork, *, guild_id: str) -> StatusCounts:
    rows = await uow.session.execute(
        select(OutboxJob.status, func.count())
        .where(OutboxJob.guild_id == guild_id, OutboxJob.status.in_(COUNTED))
        .group_by(OutboxJob.status)
    )
    return StatusCounts(**dict(rows.all()))


async def failed_count(uow: UnitOfWork, *, guild_id: str) -> int:
    """How many of a guild's jobs failed for good (the navigation's badge)."""
    count = await uow.session.scalar(
        select(func.count())
        .select_from(OutboxJob)
        .where(OutboxJob.guild_id == guild_id, OutboxJob.status == "failed")
    )
    return int(count or 0)


async def backlog(uow: UnitOfWork) -> BacklogOut:
    """Open and failed jobs of every guild, and how long the oldest pending one has waited."""
    rows = await uow.session.execute(
        select(OutboxJob.status, func.count(), func.min(OutboxJob.created_at))
        .where(OutboxJob.status.in_(COUNTED))
        .group_by(OutboxJob.status)
    )
    counts: dict[str, int] = {}
    oldest = None
    for status, count, first in rows.all():
        counts[status] = count
        if status == "pending":
            oldest = first
    age = None if oldest is None else max(0.0, (uow.now - as_utc(oldest)).total_seconds())
    return BacklogOut(**counts, oldest_pending_seconds=age)
