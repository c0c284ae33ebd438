"""The outbox: Discord side effects stored with the change that needs them.

A job is written in the same transaction as its cause; the bot's worker leases due jobs
through the API, performs them with Discord's REST API and reports the outcome
(``guildbank/outbox``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = ["JOB_STATUSES", "OutboxJob", "OutboxMessage"]

JOB_STATUSES = ("pending", "running", "done", "failed", "cancelled")
_OPEN = "status IN ('pending', 'running')"


class OutboxJob(Base):
    """One side effect in Discord: what (``kind``, ``payload``), its state and its outcome."""

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(Snowflake)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(JSON)
    # Jobs with the same key coalesce while one is open (pending or running).
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # Bumped when a newer payload replaces an open job's (migration 0011).
    revision: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'cancelled')", name="status"
        ),
        Index("ix_outbox_jobs_due", "status", "next_attempt_at"),
        Index("ix_outbox_jobs_guild_id", "guild_id", "status"),
        Index(
            "uq_outbox_jobs_open_dedupe",
            "guild_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text(_OPEN),
            sqlite_where=text(_OPEN),
        ),
    )


class OutboxMessage(Base):
    """The Discord message a key (``shop.item:12``) is shown by, kept by message jobs."""

    __tablename__ = "outbox_messages"

    guild_id: Mapped[str] = mapped_column(Snowflake, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel_id: Mapped[str] = mapped_column(Snowflake)
    message_id: Mapped[str] = mapped_column(Snowflake)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
