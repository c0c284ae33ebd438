"""Expiry: tasks past ``expires_at`` close, claims past their deadline expire.

``expire_due`` is what the scheduler (``scheduler.py``) runs in one unit of work. Claims go
first (in progress or rejected ones past their deadline: their places are given back), then
tasks; submitted claims wait for their review. Guilds that turned ``auto_expire_enabled`` off
are skipped. Every task touched gets its post rewritten ("Expired", claims closed) and every
expired claim with a proof post has it rewritten, through the outbox.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.tasks.events import TaskExpired
from guildbank.features.tasks.posts import post_proof, post_task
from guildbank.features.tasks.queries import read_settings
from guildbank.features.tasks.rules import TaskSettingsValues
from guildbank.platform.models.tasks import MemberTask, Task, TaskSettings
from guildbank.platform.uow import UnitOfWork

__all__ = ["ExpiryReport", "expire_due"]

BATCH = 500


@dataclass
class ExpiryReport:
    tasks: list[int] = field(default_factory=list)
    claims: list[tuple[int, str]] = field(default_factory=list)  # (task_id, user_id)


def _auto_expiring(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Rows of guilds that did not turn automatic expiry off."""
    off = select(TaskSettings.guild_id).where(TaskSettings.auto_expire_enabled.is_(False))
    return column.not_in(off)


async def expire_due(uow: UnitOfWork, *, batch: int = BATCH) -> ExpiryReport:
    """Expire what is due now (at most ``batch`` claims and ``batch`` tasks per call)."""
    report = ExpiryReport()
    due_claims = (
        select(MemberTask.id)
        .where(
            MemberTask.status.in_(("in_progress", "rejected")),
            MemberTask.deadline <= uow.now,
            _auto_expiring(MemberTask.guild_id),
        )
        .order_by(MemberTask.id)
        .limit(batch)
    )
    claims = (
        await uow.session.execute(
            update(MemberTask)
            .where(MemberTask.id.in_(due_claims.scalar_subquery()))
            .values(status="expired")
            .returning(MemberTask.id, MemberTask.guild_id, MemberTask.task_id, MemberTask.user_id),
            execution_options={"synchronize_session": False},
        )
    ).all()
    freed = Counter(task_id for _, _, task_id, _ in claims)
    for task_id in sorted(freed):  # one lock order
        await uow.session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(current_claims=Task.current_claims - freed[task_id], updated_at=uow.now),
            execution_options={"synchronize_session": False},
        )
    due_tasks = (
        select(Task.id)
        .where(
            Task.status == "active",
            Task.expires_at <= uow.now,
            _auto_expiring(Task.guild_id),
        )
        .order_by(Task.id)
        .limit(batch)
    )
    expired_tasks = list(
        (
            await uow.session.execute(
                update(Task)
                .where(Task.id.in_(due_tasks.scalar_subquery()))
                .values(status="expired", version=Task.version + 1, updated_at=uow.now)
                .returning(Task.id),
                execution_options={"synchronize_session": False},
            )
        ).scalars()
    )
    report.tasks = sorted(expired_tasks)
    report.claims = [(task_id, user_id) for _, _, task_id, user_id in claims]
    await _repost(uow, set(freed) | set(expired_tasks), [c[0] for c in claims])
    by_guild: dict[str, tuple[list[int], list[list[object]]]] = defaultdict(lambda: ([], []))
    touched = (
        await uow.session.execute(select(Task.id, Task.guild_id).where(Task.id.in_(expired_tasks)))
    ).all()
    for task_id, guild_id in touched:
        by_guild[guild_id][0].append(task_id)
    for _, guild_id, task_id, user_id in claims:
        by_guild[guild_id][1].append([task_id, user_id])
    for guild_id, (task_ids, claim_pairs) in sorted(by_guild.items()):
        uow.emit(TaskExpired(guild_id=guild_id, task_ids=sorted(task_ids), claims=claim_pairs))
    return report


async def _repost(uow: UnitOfWork, task_ids: set[int], claim_ids: list[int]) -> None:
    """Rewrite the posts of the tasks and claims that changed."""
    if not task_ids and not claim_ids:
        return
    tasks = {
        t.id: t
        for t in (
            await uow.session.execute(
                select(Task)
                .where(Task.id.in_(task_ids | set(await _tasks_of(uow, claim_ids))))
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    contexts: dict[str, tuple[TaskSettingsValues, EconomyConfig]] = {}

    async def context(guild_id: str) -> tuple[TaskSettingsValues, EconomyConfig]:
        if guild_id not in contexts:
            contexts[guild_id] = (
                await read_settings(uow, guild_id),
                await get_config(uow, guild_id),
            )
        return contexts[guild_id]

    for task_id in sorted(task_ids):
        task = tasks[task_id]
        settings, config = await context(task.guild_id)
        await post_task(uow, task, settings, config)
    if claim_ids:
        rows = (
            await uow.session.execute(
                select(MemberTask)
                .where(MemberTask.id.in_(claim_ids), MemberTask.submitted_at.is_not(None))
                .execution_options(populate_existing=True)
            )
        ).scalars()
        for claim in rows:
            task = tasks[claim.task_id]
            settings, config = await context(task.guild_id)
            await post_proof(uow, claim, task, settings, config)


async def _tasks_of(uow: UnitOfWork, claim_ids: list[int]) -> list[int]:
    if not claim_ids:
        return []
    return list(
        (
            await uow.session.execute(
                select(MemberTask.task_id).where(MemberTask.id.in_(claim_ids))
            )
        ).scalars()
    )
