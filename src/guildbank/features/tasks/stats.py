"""Task statistics for the dashboard and the API: completion rate, review time, bytes paid."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from guildbank.features.guilds.queries import get_config
from guildbank.features.tasks.schemas import TaskStatsOut
from guildbank.platform.clock import as_utc
from guildbank.platform.models.tasks import MemberTask, Task
from guildbank.platform.uow import UnitOfWork

__all__ = ["task_statistics"]


async def task_statistics(uow: UnitOfWork, *, guild_id: str) -> TaskStatsOut:
    """Completion rate: accepted claims over all claims that are no longer in progress."""
    await get_config(uow, guild_id)
    task_counts = dict(
        (
            await uow.session.execute(
                select(Task.status, func.count())
                .where(Task.guild_id == guild_id)
                .group_by(Task.status)
            )
        ).all()
    )
    rows = (
        await uow.session.execute(
            select(
                MemberTask.status,
                MemberTask.submitted_at,
                MemberTask.reviewed_at,
                MemberTask.transaction_id,
                Task.name,
                Task.id,
                Task.reward,
            )
            .join(Task, Task.id == MemberTask.task_id)
            .where(MemberTask.guild_id == guild_id)
        )
    ).all()
    statuses = Counter(row[0] for row in rows)
    finished = statuses["accepted"] + statuses["expired"]
    review_times = [
        (as_utc(reviewed) - as_utc(submitted)).total_seconds()
        for status, submitted, reviewed, *_ in rows
        if status in ("accepted", "rejected") and submitted is not None and reviewed is not None
    ]
    paid: Counter[str] = Counter()
    for status, _, _, transaction_id, name, task_id, reward in rows:
        if status == "accepted" and transaction_id is not None:
            paid[f"{task_id}: {name}"] += reward
    return TaskStatsOut(
        guild_id=guild_id,
        tasks=sum(task_counts.values()),
        active_tasks=task_counts.get("active", 0),
        claims=len(rows),
        accepted=statuses["accepted"],
        rejected_pending=statuses["rejected"],
        awaiting_review=statuses["submitted"],
        expired_claims=statuses["expired"],
        completion_rate=round(statuses["accepted"] / finished, 4) if finished else 0.0,
        average_review_seconds=(
            round(sum(review_times) / len(review_times), 1) if review_times else None
        ),
        bytes_paid=sum(paid.values()),
        paid_per_task=dict(paid.most_common()),
    )
