"""The worker's side of the outbox, run by the API: lease due jobs, record outcomes.

A lease is a token (``owner#random``) and an expiry. Leasing takes due jobs of the worker's
shards (``(guild_id >> 22) % shard_count``, computed in SQL) with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never get the same job; SQLite's ``BEGIN IMMEDIATE`` already
serialises leasers. A job whose lease expired (its worker died) is due again. A report must
quote the job's current lease: a stale one is refused (``StaleLease``), so each lease records
its outcome at most once, and effects are idempotent on the bot's side.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    cast,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from guildbank.outbox import metrics
from guildbank.outbox.errors import JobNotFound, StaleLease
from guildbank.outbox.events import OutboxReady
from guildbank.outbox.rules import (
    MESSAGE_DELETE,
    MESSAGE_KINDS,
    MESSAGE_POST,
    PIN_KINDS,
    SNOWFLAKE_TIMESTAMP_SHIFT,
    RetryPolicy,
)
from guildbank.outbox.schemas import JobOut, LeasedJob, MessageRef, ReportIn, ReportOut
from guildbank.outbox.service import job_changed
from guildbank.platform.clock import as_utc
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.uow import UnitOfWork

__all__ = ["complete_job", "fail_job", "lease_jobs", "next_due", "record_reports"]


def _on_shards(shard_ids: Sequence[int], shard_count: int) -> ColumnElement[bool]:
    """Jobs of guilds on these gateway shards (Discord's formula, in SQL on both backends)."""
    if shard_count <= 1:
        return true()
    # A literal shift: PostgreSQL has ``bigint >> integer`` but no ``bigint >> bigint``.
    shift: ColumnElement[int] = literal_column(str(SNOWFLAKE_TIMESTAMP_SHIFT))
    shard = cast(OutboxJob.guild_id, BigInteger).op(">>")(shift) % shard_count
    return shard.in_(sorted({s for s in shard_ids if s < shard_count}))


def _not_waiting_for_its_message() -> ColumnElement[bool]:
    """A pin or unpin waits while a post or delete of its key is open (pending or running):
    it is written with the post that makes the message, and must act on that message."""
    other = aliased(OutboxJob)
    open_message_job = exists().where(
        other.guild_id == OutboxJob.guild_id,
        other.kind.in_(sorted(MESSAGE_KINDS)),
        other.status.in_(("pending", "running")),
        other.payload["key"].as_string() == OutboxJob.payload["key"].as_string(),
    )
    return or_(OutboxJob.kind.not_in(sorted(PIN_KINDS)), ~open_message_job)


async def _give_up_on_lost(
    uow: UnitOfWork, on_shards: ColumnElement[bool], policy: RetryPolicy
) -> None:
    """Jobs whose lease expired on their last allowed attempt: failed, not leased again."""
    lost = await uow.session.scalars(
        update(OutboxJob)
        .where(
            OutboxJob.status == "running",
            OutboxJob.lease_expires_at <= uow.now,
            OutboxJob.attempts >= policy.max_attempts,
            on_shards,
        )
        .values(
            status="failed",
            last_error=(
                f"The worker running it stopped answering {policy.max_attempts} times "
                "(lease expired): given up."
            ),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=uow.now,
        )
        .returning(OutboxJob),
        execution_options={"synchronize_session": False, "populate_existing": True},
    )
    for job in lost:
        metrics.FAILED.labels(job.kind).inc()
        uow.emit(job_changed(job))


async def lease_jobs(
    uow: UnitOfWork,
    *,
    owner: str,
    shard_ids: Sequence[int],
    shard_count: int,
    limit: int,
    policy: RetryPolicy,
) -> list[LeasedJob]:
    """Lease up to ``limit`` due jobs of these shards, oldest due first."""
    on_shards = _on_shards(shard_ids, shard_count)
    await _give_up_on_lost(uow, on_shards, policy)
    due = (
        select(OutboxJob.id)
        .where(
            or_(
                and_(OutboxJob.status == "pending", OutboxJob.next_attempt_at <= uow.now),
                and_(OutboxJob.status == "running", OutboxJob.lease_expires_at <= uow.now),
            ),
            on_shards,
            _not_waiting_for_its_message(),
        )
        .order_by(OutboxJob.next_attempt_at, OutboxJob.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    token = f"{owner}#{secrets.token_hex(4)}"
    jobs = list(
        await uow.session.scalars(
            update(OutboxJob)
            .where(OutboxJob.id.in_(due.scalar_subquery()))
            .values(
                status="running",
                lease_owner=token,
                lease_expires_at=uow.now + timedelta(seconds=policy.lease_seconds),
                attempts=OutboxJob.attempts + 1,
                updated_at=uow.now,
            )
            .returning(OutboxJob),
            execution_options={"synchronize_session": False, "populate_existing": True},
        )
    )
    jobs.sort(key=lambda job: (job.next_attempt_at, job.id))
    messages = await _messages_for(uow, jobs)
    return [
        LeasedJob(
            **JobOut.model_validate(job).model_dump(),
            lease=token,
            message=messages.get((job.guild_id, str(job.payload.get("key")))),
        )
        for job in jobs
    ]


async def _messages_for(
    uow: UnitOfWork, jobs: Sequence[OutboxJob]
) -> dict[tuple[str, str], MessageRef]:
    """The messages that message jobs with a key show their content in now."""
    keyed = {
        (j.guild_id, str(j.payload["key"]))
        for j in jobs
        if (j.kind in MESSAGE_KINDS or j.kind in PIN_KINDS) and j.payload.get("key")
    }
    if not keyed:
        return {}
    rows = await uow.session.execute(
        select(OutboxMessage).where(
            OutboxMessage.guild_id.in_({g for g, _ in keyed}),
            OutboxMessage.key.in_({k for _, k in keyed}),
        )
    )
    return {
        (m.guild_id, m.key): MessageRef(channel_id=m.channel_id, message_id=m.message_id)
        for m in rows.scalars()
    }


async def _leased(uow: UnitOfWork, job_id: int, lease: str) -> OutboxJob:
    """The job, row-locked, if ``lease`` still holds it; StaleLease otherwise."""
    job = (
        await uow.session.execute(
            select(OutboxJob)
            .where(OutboxJob.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if job is None:
        raise JobNotFound(job_id)
    if job.status != "running" or job.lease_owner != lease:
        raise StaleLease(job_id)
    return job


async def _remember_message(uow: UnitOfWork, job: OutboxJob, result: dict[str, Any]) -> None:
    key = job.payload.get("key")
    if not key:
        return
    if job.kind == MESSAGE_DELETE:
        await uow.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.guild_id == job.guild_id, OutboxMessage.key == key
            )
        )
        return
    if job.kind != MESSAGE_POST or "message_id" not in result:
        return
    values = {
        "guild_id": job.guild_id,
        "key": key,
        "channel_id": str(result["channel_id"]),
        "message_id": str(result["message_id"]),
        "updated_at": uow.now,
    }
    module = postgresql if uow.services.dialect == "postgresql" else sqlite
    statement = module.insert(OutboxMessage).values(**values)
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["guild_id", "key"],
            set_={k: statement.excluded[k] for k in ("channel_id", "message_id", "updated_at")},
        )
    )


async def complete_job(
    uow: UnitOfWork, *, job_id: int, lease: str, revision: int, result: dict[str, Any] | None
) -> JobOut:
    """The job's effect happened in Discord. If a newer payload arrived meanwhile (another
    revision), the job goes back to pending so the newest wish runs too."""
    job = await _leased(uow, job_id, lease)
    result = result or {}
    await _remember_message(uow, job, result)
    job.result = result
    job.lease_owner, job.lease_expires_at, job.updated_at = None, None, uow.now
    if job.revision != revision:
        job.status, job.attempts, job.next_attempt_at = "pending", 0, uow.now
        uow.emit(OutboxReady(guild_id=job.guild_id, job_id=job.id, kind=job.kind))
    else:
        job.status = "done"
        metrics.DONE.labels(job.kind).inc()
        metrics.LATENCY.labels(job.kind).observe(
            max(0.0, (uow.now - as_utc(job.created_at)).total_seconds())
        )
    await uow.session.flush()
    uow.emit(job_changed(job))
    return JobOut.model_validate(job)


async def fail_job(
    uow: UnitOfWork,
    *,
    job_id: int,
    lease: str,
    error: str,
    retry_after: float | None,
    permanent: bool,
    policy: RetryPolicy,
    rng: Callable[[], float] = random.random,
) -> JobOut:
    """The attempt failed: failed for good (``permanent``, or out of attempts), or pending
    again after Discord's ``retry_after`` (not counted as an attempt) or the backoff."""
    job = await _leased(uow, job_id, lease)
    job.last_error = error
    job.lease_owner, job.lease_expires_at, job.updated_at = None, None, uow.now
    if permanent or (retry_after is None and job.attempts >= policy.max_attempts):
        job.status = "failed"
        if not permanent:
            job.last_error = f"{error} (gave up after {job.attempts} attempts)"
        metrics.FAILED.labels(job.kind).inc()
    else:
        if retry_after is not None:
            job.attempts = max(0, job.attempts - 1)
            delay = retry_after
        else:
            delay = policy.delay(job.attempts, rng)
        job.status, job.next_attempt_at = "pending", uow.now + timedelta(seconds=delay)
        metrics.RETRIED.labels(job.kind).inc()
    await uow.session.flush()
    uow.emit(job_changed(job))
    return JobOut.model_validate(job)


async def next_due(
    uow: UnitOfWork, *, shard_ids: Sequence[int], shard_count: int
) -> datetime | None:
    """When the next job of these shards becomes due (a retry, an expiring lease), if any."""
    on_shards = _on_shards(shard_ids, shard_count)
    pending = await uow.session.scalar(
        select(func.min(OutboxJob.next_attempt_at)).where(
            OutboxJob.status == "pending", on_shards, _not_waiting_for_its_message()
        )
    )
    running = await uow.session.scalar(
        select(func.min(OutboxJob.lease_expires_at)).where(OutboxJob.status == "running", on_shards)
    )
    moments = [as_utc(m) for m in (pending, running) if m is not None]
    return min(moments) if moments else None


async def record_reports(
    uow: UnitOfWork, reports: Sequence[ReportIn], *, policy: RetryPolicy
) -> list[ReportOut]:
    """A worker's batch of outcomes in one transaction; a refused one (a stale lease) leaves
    the others standing, since a refusal is decided before anything is written."""
    answers = []
    for report in sorted(reports, key=lambda r: r.job_id):  # row locks in one order
        try:
            if report.error is None:
                job = await complete_job(
                    uow,
                    job_id=report.job_id,
                    lease=report.lease,
                    revision=report.revision,
                    result=report.result,
                )
            else:
                job = await fail_job(
                    uow,
                    job_id=report.job_id,
                    lease=report.lease,
                    error=report.error,
                    retry_after=report.retry_after,
                    permanent=report.permanent,
                    policy=policy,
                )
        except (JobNotFound, StaleLease) as error:
            answers.append(ReportOut(job_id=report.job_id, refused=error.code))
        else:
            answers.append(ReportOut(job_id=report.job_id, status=job.status))
    return answers
