"""Tables of the tasks feature: tasks, members' claims of them, per-guild task settings, and
the lease that lets one process at a time run the expiry scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = [
    "MEMBER_TASK_STATUSES",
    "TASK_STATUSES",
    "MemberTask",
    "SchedulerLease",
    "Task",
    "TaskSettings",
]

TASK_STATUSES = ("active", "expired", "archived")
MEMBER_TASK_STATUSES = ("in_progress", "submitted", "accepted", "rejected", "expired")


class Task(Base):
    """A task members claim and complete for ``reward``.

    ``current_claims`` counts the claims holding a place (everything but expired claims) and
    is only changed by conditional updates, so ``max_claims`` (-1: unlimited) holds under
    concurrent claims. The Discord post's message id and sync status live in the outbox
    (``outbox_messages`` and the open job for key ``task:{id}``), not here: one source of truth.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("reward >= 0", name="reward_non_negative"),
        CheckConstraint("duration_hours >= 1", name="duration_positive"),
        CheckConstraint("max_claims = -1 OR max_claims >= 1", name="max_claims_valid"),
        CheckConstraint("current_claims >= 0", name="current_claims_non_negative"),
        CheckConstraint("status IN ('active', 'expired', 'archived')", name="status"),
        Index("ix_tasks_guild_status", "guild_id", "status"),
        Index("ix_tasks_due", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(2000), server_default="")
    reward: Mapped[int] = mapped_column(BigInteger)
    duration_hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    channel_id: Mapped[str | None] = mapped_column(Snowflake)
    max_claims: Mapped[int] = mapped_column(Integer, server_default="-1")
    current_claims: Mapped[int] = mapped_column(Integer, server_default="0")
    category: Mapped[str | None] = mapped_column(String(50))
    role_id: Mapped[str | None] = mapped_column(Snowflake)
    created_by: Mapped[str | None] = mapped_column(Snowflake)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class MemberTask(Base):
    """A member's claim of a task, from in_progress to accepted (one per member and task).

    ``transaction_id`` is the reward's ledger transaction, written once by the accept that
    moved the row from submitted to accepted (a conditional update: two accepts, one reward).
    """

    __tablename__ = "member_tasks"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id", name="uq_member_tasks_task_user"),
        CheckConstraint(
            "status IN ('in_progress', 'submitted', 'accepted', 'rejected', 'expired')",
            name="status",
        ),
        Index("ix_member_tasks_member", "guild_id", "user_id", "status"),
        Index("ix_member_tasks_review", "guild_id", "status", "submitted_at"),
        Index("ix_member_tasks_due", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(Snowflake)
    status: Mapped[str] = mapped_column(String(16), server_default="in_progress")
    claimed_at: Mapped[datetime] = mapped_column(Timestamp)
    deadline: Mapped[datetime] = mapped_column(Timestamp)
    proof_text: Mapped[str | None] = mapped_column(String(2000))
    proof_urls: Mapped[Any] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reviewer_id: Mapped[str | None] = mapped_column(Snowflake)
    rejection_reason: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class TaskSettings(Base):
    """A guild's task settings; a guild without a row has the defaults (``rules``)."""

    __tablename__ = "task_settings"
    __table_args__ = (CheckConstraint("max_tasks_per_user >= 1", name="max_tasks_positive"),)

    guild_id: Mapped[str] = mapped_column(
        ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True
    )
    allow_user_tasks: Mapped[bool] = mapped_column(Boolean)
    max_tasks_per_user: Mapped[int] = mapped_column(Integer)
    auto_expire_enabled: Mapped[bool] = mapped_column(Boolean)
    require_proof: Mapped[bool] = mapped_column(Boolean)
    announcement_channel_id: Mapped[str | None] = mapped_column(Snowflake)
    review_channel_id: Mapped[str | None] = mapped_column(Snowflake)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class SchedulerLease(Base):
    """Who runs a periodic job (``name``) until ``expires_at``: one process at a time."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
