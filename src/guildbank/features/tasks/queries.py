"""Reading tasks, claims, the review queue and task settings.

A task's post and a proof's post are outbox messages (keys ``task:{id}`` and
``task.proof:{claim id}``); their message ids and sync status are read from the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.queries import get_config
from guildbank.features.tasks.errors import ClaimNotFound, TaskNotFound
from guildbank.features.tasks.rules import TaskSettingsValues
from guildbank.features.tasks.schemas import (
    MemberTaskOut,
    TaskOut,
    TaskSettingsOut,
)
from guildbank.platform.clock import as_utc
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.models.tasks import MemberTask, Task, TaskSettings
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "awaiting_review",
    "check_user",
    "claim_view",
    "get_claim_or_raise",
    "get_settings",
    "get_task",
    "get_task_or_raise",
    "list_tasks",
    "member_claims",
    "proof_key",
    "read_settings",
    "review_queue",
    "settings_view",
    "task_claims",
    "task_key",
    "task_view",
    "task_views",
]


def task_key(task_id: int) -> str:
    """The outbox key of a task's post."""
    return f"task:{task_id}"


def proof_key(claim_id: int) -> str:
    """The outbox key of a claim's proof post in the review channel."""
    return f"task.proof:{claim_id}"


def check_user(user_id: str) -> None:
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")


def task_view(row: Task, message_id: str | None = None, sync_status: str = "none") -> TaskOut:
    return TaskOut(
        id=row.id,
        guild_id=row.guild_id,
        name=row.name,
        description=row.description,
        reward=row.reward,
        duration_hours=row.duration_hours,
        status=row.status,
        channel_id=row.channel_id,
        max_claims=row.max_claims,
        current_claims=row.current_claims,
        category=row.category,
        role_id=row.role_id,
        created_by=row.created_by,
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        expires_at=as_utc(row.expires_at),
        message_id=message_id,
        sync_status=sync_status,
    )


def claim_view(row: MemberTask, task: Task, proof_message_id: str | None = None) -> MemberTaskOut:
    return MemberTaskOut(
        id=row.id,
        guild_id=row.guild_id,
        task_id=row.task_id,
        task_name=task.name,
        reward=task.reward,
        user_id=row.user_id,
        status=row.status,
        claimed_at=as_utc(row.claimed_at),
        deadline=as_utc(row.deadline),
        proof_text=row.proof_text,
        proof_urls=list(row.proof_urls or []),
        submitted_at=None if row.submitted_at is None else as_utc(row.submitted_at),
        reviewed_at=None if row.reviewed_at is None else as_utc(row.reviewed_at),
        reviewer_id=row.reviewer_id,
        rejection_reason=row.rejection_reason,
        completed_at=None if row.completed_at is None else as_utc(row.completed_at),
        transaction_id=row.transaction_id,
        proof_message_id=proof_message_id,
    )


async def _posts(
    uow: UnitOfWork, guild_id: str, keys: Sequence[str]
) -> dict[str, tuple[str | None, str]]:
    """Each key's Discord message id and sync status: synced, pending, failed or none."""
    if not keys:
        return {}
    messages = dict(
        (
            await uow.session.execute(
                select(OutboxMessage.key, OutboxMessage.message_id).where(
                    OutboxMessage.guild_id == guild_id, OutboxMessage.key.in_(keys)
                )
            )
        ).all()
    )
    latest: dict[str, str] = {}
    jobs = await uow.session.execute(
        select(OutboxJob.dedupe_key, OutboxJob.status)
        .where(
            OutboxJob.guild_id == guild_id,
            OutboxJob.dedupe_key.in_([f"message:{k}" for k in keys]),
        )
        .order_by(OutboxJob.id)
    )
    for dedupe_key, status in jobs.all():
        latest[str(dedupe_key).removeprefix("message:")] = status
    result: dict[str, tuple[str | None, str]] = {}
    for key in keys:
        job_status = latest.get(key)
        if job_status in ("pending", "running"):
            sync = "pending"
        elif job_status == "failed":
            sync = "failed"
        elif key in messages:
            sync = "synced"
        else:
            sync = "none"
        result[key] = (messages.get(key), sync)
    return result


async def task_views(uow: UnitOfWork, guild_id: str, rows: Sequence[Task]) -> list[TaskOut]:
    posts = await _posts(uow, guild_id, [task_key(r.id) for r in rows])
    return [task_view(r, *posts.get(task_key(r.id), (None, "none"))) for r in rows]


async def get_task_or_raise(
    uow: UnitOfWork, *, guild_id: str, task_id: int, lock: bool = False
) -> Task:
    """The guild's task (row-locked when ``lock``); TaskNotFound for another guild's id."""
    query = select(Task).where(Task.id == task_id, Task.guild_id == guild_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await uow.session.execute(query)).scalar_one_or_none()
    if row is None:
        raise TaskNotFound(task_id)
    return row


async def get_task(uow: UnitOfWork, *, guild_id: str, task_id: int) -> TaskOut:
    await get_config(uow, guild_id)
    row = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    return (await task_views(uow, guild_id, [row]))[0]


async def list_tasks(
    uow: UnitOfWork,
    *,
    guild_id: str,
    status: str | None = None,
    category: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[TaskOut]:
    """The guild's tasks, newest first; ``open_only``: active, unexpired and not full."""
    await get_config(uow, guild_id)
    query = select(Task).where(Task.guild_id == guild_id)
    if status is not None:
        query = query.where(Task.status == status)
    if category is not None:
        query = query.where(Task.category == category)
    if open_only:
        query = query.where(
            Task.status == "active",
            Task.expires_at > uow.now,
            (Task.max_claims == -1) | (Task.current_claims < Task.max_claims),
        )
    rows = list(
        (
            await uow.session.execute(
                query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit).offset(offset)
            )
        ).scalars()
    )
    return await task_views(uow, guild_id, rows)


async def get_claim_or_raise(
    uow: UnitOfWork, *, guild_id: str, task_id: int, user_id: str, lock: bool = False
) -> MemberTask:
    query = select(MemberTask).where(
        MemberTask.guild_id == guild_id,
        MemberTask.task_id == task_id,
        MemberTask.user_id == user_id,
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await uow.session.execute(query)).scalar_one_or_none()
    if row is None:
        raise ClaimNotFound(task_id=task_id, user_id=user_id)
    return row


async def _claim_views(
    uow: UnitOfWork, guild_id: str, rows: Sequence[tuple[MemberTask, Task]]
) -> list[MemberTaskOut]:
    posts = await _posts(uow, guild_id, [proof_key(claim.id) for claim, _ in rows])
    return [
        claim_view(claim, task, posts.get(proof_key(claim.id), (None, "none"))[0])
        for claim, task in rows
    ]


async def member_claims(
    uow: UnitOfWork, *, guild_id: str, user_id: str, status: str | None = None
) -> list[MemberTaskOut]:
    """A member's claims, newest first."""
    await get_config(uow, guild_id)
    check_user(user_id)
    query = (
        select(MemberTask, Task)
        .join(Task, Task.id == MemberTask.task_id)
        .where(MemberTask.guild_id == guild_id, MemberTask.user_id == user_id)
    )
    if status is not None:
        query = query.where(MemberTask.status == status)
    rows = (
        await uow.session.execute(
            query.order_by(MemberTask.claimed_at.desc(), MemberTask.id.desc())
        )
    ).all()
    return await _claim_views(uow, guild_id, [(c, t) for c, t in rows])


async def review_queue(
    uow: UnitOfWork, *, guild_id: str, task_id: int | None = None, limit: int = 100
) -> list[MemberTaskOut]:
    """Submitted proofs waiting for review, oldest first."""
    await get_config(uow, guild_id)
    query = (
        select(MemberTask, Task)
        .join(Task, Task.id == MemberTask.task_id)
        .where(MemberTask.guild_id == guild_id, MemberTask.status == "submitted")
    )
    if task_id is not None:
        query = query.where(MemberTask.task_id == task_id)
    rows = (
        await uow.session.execute(
            query.order_by(MemberTask.submitted_at, MemberTask.id).limit(limit)
        )
    ).all()
    return await _claim_views(uow, guild_id, [(c, t) for c, t in rows])


async def task_claims(uow: UnitOfWork, *, guild_id: str, task_id: int) -> list[MemberTaskOut]:
    """Every claim of a task, in claiming order."""
    await get_config(uow, guild_id)
    task = await get_task_or_raise(uow, guild_id=guild_id, task_id=task_id)
    rows = (
        await uow.session.execute(
            select(MemberTask)
            .where(MemberTask.task_id == task.id)
            .order_by(MemberTask.claimed_at, MemberTask.id)
        )
    ).scalars()
    return await _claim_views(uow, guild_id, [(c, task) for c in rows])


async def read_settings(uow: UnitOfWork, guild_id: str) -> TaskSettingsValues:
    """The guild's task settings (the defaults while none were saved)."""
    row = await uow.session.get(TaskSettings, guild_id)
    if row is None:
        return TaskSettingsValues()
    return TaskSettingsValues(
        allow_user_tasks=row.allow_user_tasks,
        max_tasks_per_user=row.max_tasks_per_user,
        auto_expire_enabled=row.auto_expire_enabled,
        require_proof=row.require_proof,
        announcement_channel_id=row.announcement_channel_id,
        review_channel_id=row.review_channel_id,
        version=row.version,
    )


def settings_view(guild_id: str, values: TaskSettingsValues) -> TaskSettingsOut:
    return TaskSettingsOut(
        guild_id=guild_id,
        allow_user_tasks=values.allow_user_tasks,
        max_tasks_per_user=values.max_tasks_per_user,
        auto_expire_enabled=values.auto_expire_enabled,
        require_proof=values.require_proof,
        announcement_channel_id=values.announcement_channel_id,
        review_channel_id=values.review_channel_id,
        version=values.version,
    )


async def get_settings(uow: UnitOfWork, *, guild_id: str) -> TaskSettingsOut:
    await get_config(uow, guild_id)
    return settings_view(guild_id, await read_settings(uow, guild_id))


async def awaiting_review(uow: UnitOfWork, guild_id: str) -> int:
    """Proofs waiting for review: the count on the dashboard's Tasks tab."""
    return (
        await uow.session.execute(
            select(func.count()).where(
                MemberTask.guild_id == guild_id, MemberTask.status == "submitted"
            )
        )
    ).scalar_one()
