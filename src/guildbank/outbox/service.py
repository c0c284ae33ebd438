"""Writing jobs: ``enqueue`` in the caller's unit of work, and the admins' retry and cancel.

A job is part of the change that needs it: ``enqueue`` writes it in the caller's transaction,
so a committed change always has its Discord side effect and a rolled-back one never does.
Jobs with the same dedupe key coalesce while one is open (pending or running): the newest
payload replaces the older one, and a job already running is marked with a new revision so
the worker's report puts it back to pending (``leases.complete``): the newest wish wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import String, case, cast, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from guildbank.outbox.errors import JobConflict, JobNotFound
from guildbank.outbox.events import OutboxJobChanged, OutboxReady
from guildbank.outbox.rules import (
    DM_SEND,
    MESSAGE_DELETE,
    MESSAGE_PIN,
    MESSAGE_POST,
    MESSAGE_UNPIN,
    ROLE_ADD,
    ROLE_GRANT,
    ROLE_REMOVE,
    message_key,
    pin_key,
    role_grant_key,
    role_key,
)
from guildbank.outbox.schemas import JobOut, validate_payload
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "OPEN",
    "cancel_job",
    "enqueue",
    "enqueue_dm",
    "enqueue_message",
    "enqueue_pin",
    "enqueue_role_change",
    "enqueue_role_grants",
    "job_changed",
    "retry_job",
]

OPEN = ("pending", "running")
# Literal SQL: PostgreSQL matches a partial index by its predicate, not by bound parameters.
_OPEN_INDEX_WHERE = text("status IN ('pending', 'running')")


def _upsert(uow: UnitOfWork, values: dict[str, Any]) -> Any:
    """INSERT, or on an open job with the same key: the newest kind and payload, a new
    revision when they changed (works on both backends: the partial unique index)."""
    module = postgresql if uow.services.dialect == "postgresql" else sqlite
    statement = module.insert(OutboxJob).values(**values)
    new = statement.excluded
    changed: ColumnElement[bool] = (OutboxJob.kind != new.kind) | (
        cast(OutboxJob.payload, String) != cast(new.payload, String)
    )
    return statement.on_conflict_do_update(
        index_elements=["guild_id", "dedupe_key"],
        index_where=_OPEN_INDEX_WHERE,
        set_={
            "kind": new.kind,
            "payload": new.payload,
            "revision": case((changed, OutboxJob.revision + 1), else_=OutboxJob.revision),
            "updated_at": new.updated_at,
        },
    ).returning(OutboxJob.id)


async def enqueue(
    uow: UnitOfWork,
    *,
    guild_id: str,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    delay: float = 0.0,
) -> int:
    """Write a job in ``uow``'s transaction; returns its id (the open one it coalesced into).

    Announces ``outbox.ready`` once per unit of work and guild, after the commit.
    """
    payload = validate_payload(kind, payload)
    values = {
        "guild_id": guild_id,
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "revision": 0,
        "next_attempt_at": uow.now + timedelta(seconds=delay),
        "created_at": uow.now,
        "updated_at": uow.now,
    }
    statement = (
        insert(OutboxJob).values(**values).returning(OutboxJob.id)
        if dedupe_key is None
        else _upsert(uow, values)
    )
    job_id = int((await uow.session.execute(statement)).scalar_one())
    if not any(e.name == OutboxReady.name and e.guild_id == guild_id for e in uow.events):
        uow.emit(OutboxReady(guild_id=guild_id, job_id=job_id, kind=kind))
    return job_id


async def enqueue_role_grants(
    uow: UnitOfWork, *, guild_id: str, user_id: str, role_ids: Iterable[str], reason: str
) -> None:
    """Reward roles a member earned: one coalescing ``role.grant`` job per role."""
    for role_id in role_ids:
        await enqueue(
            uow,
            guild_id=guild_id,
            kind=ROLE_GRANT,
            payload={"user_id": user_id, "role_id": role_id, "reason": reason},
            dedupe_key=role_grant_key(user_id, role_id),
        )


async def enqueue_role_change(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    add: str | None = None,
    remove: str | None = None,
    reason: str,
) -> None:
    """A member should hold ``add`` and not hold ``remove`` (a squad join, leave or move)."""
    for role_id, kind in ((remove, ROLE_REMOVE), (add, ROLE_ADD)):
        if role_id is not None:
            await enqueue(
                uow,
                guild_id=guild_id,
                kind=kind,
                payload={"user_id": user_id, "role_id": role_id, "reason": reason},
                dedupe_key=role_key(user_id, role_id),
            )


async def enqueue_message(
    uow: UnitOfWork,
    *,
    guild_id: str,
    channel_id: str,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    key: str | None = None,
    delete: bool = False,
    components: list[dict[str, Any]] | None = None,
) -> int:
    """Post (or, with a ``key``, create-or-edit; with ``delete``, remove) a message.

    ``components``: rows of buttons in Discord's JSON (``{"type": 1, "components": [...]}``);
    a keyed post written without them has its buttons removed.
    """
    if delete:
        if key is None:
            msg = "deleting a message needs the key it was posted with"
            raise ValueError(msg)
        return await enqueue(
            uow,
            guild_id=guild_id,
            kind=MESSAGE_DELETE,
            payload={"key": key},
            dedupe_key=message_key(key),
        )
    payload: dict[str, Any] = {"channel_id": channel_id, "content": content, "embeds": embeds or []}
    if key is not None:
        payload["key"] = key
    if components:
        payload["components"] = components
    return await enqueue(
        uow,
        guild_id=guild_id,
        kind=MESSAGE_POST,
        payload=payload,
        dedupe_key=None if key is None else message_key(key),
    )


async def enqueue_pin(uow: UnitOfWork, *, guild_id: str, key: str, pinned: bool = True) -> int:
    """Pin (or unpin) the message shown for ``key``. Written with (or after) its post: the
    job waits until no post or delete of the key is open, so it pins the message that post
    made; pin and unpin share one dedupe key, so the newest wish wins."""
    return await enqueue(
        uow,
        guild_id=guild_id,
        kind=MESSAGE_PIN if pinned else MESSAGE_UNPIN,
        payload={"key": key},
        dedupe_key=pin_key(key),
    )


async def enqueue_dm(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    content: str,
    embeds: list[dict[str, Any]] | None = None,
    dedupe_key: str | None = None,
) -> int:
    """A direct message to a member. Give a ``dedupe_key`` naming the reason for the message
    (e.g. ``dm:task.accepted:{claim}``): a second DM for it while the first is still waiting
    replaces it instead of sending twice."""
    return await enqueue(
        uow,
        guild_id=guild_id,
        kind=DM_SEND,
        payload={"user_id": user_id, "content": content, "embeds": embeds or []},
        dedupe_key=dedupe_key,
    )


async def _locked_job(uow: UnitOfWork, guild_id: str, job_id: int) -> OutboxJob:
    job = (
        await uow.session.execute(
            select(OutboxJob)
            .where(OutboxJob.id == job_id, OutboxJob.guild_id == guild_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if job is None:
        raise JobNotFound(job_id)
    return job


def job_changed(job: OutboxJob) -> OutboxJobChanged:
    return OutboxJobChanged(
        guild_id=job.guild_id,
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        attempts=job.attempts,
        last_error=job.last_error,
    )


async def retry_job(uow: UnitOfWork, *, guild_id: str, job_id: int) -> JobOut:
    """Try a failed (or cancelled) job again now, with a fresh count of attempts."""
    job = await _locked_job(uow, guild_id, job_id)
    if job.status not in ("failed", "cancelled"):
        raise JobConflict(f"Job {job_id} is {job.status}: only failed or cancelled jobs retry.")
    if job.dedupe_key is not None:
        newer = await uow.session.scalar(
            select(OutboxJob.id).where(
                OutboxJob.guild_id == guild_id,
                OutboxJob.dedupe_key == job.dedupe_key,
                OutboxJob.status.in_(OPEN),
            )
        )
        if newer is not None:
            raise JobConflict(
                f"Job {newer} for the same change is already waiting: it supersedes this one.",
                newer_job_id=newer,
            )
    await uow.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job_id)
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=uow.now,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=uow.now,
        )
    )
    await uow.session.refresh(job)
    uow.emit(job_changed(job))
    uow.emit(OutboxReady(guild_id=guild_id, job_id=job_id, kind=job.kind))
    return JobOut.model_validate(job)


async def cancel_job(uow: UnitOfWork, *, guild_id: str, job_id: int) -> JobOut:
    """Give up on a job that is not done; a worker still running it has its report refused."""
    job = await _locked_job(uow, guild_id, job_id)
    if job.status in ("done", "cancelled"):
        raise JobConflict(f"Job {job_id} is already {job.status}.")
    await uow.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job_id)
        .values(status="cancelled", lease_owner=None, lease_expires_at=None, updated_at=uow.now)
    )
    await uow.session.refresh(job)
    uow.emit(job_changed(job))
    return JobOut.model_validate(job)
