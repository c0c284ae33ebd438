"""The durable event log: domain events stored with the change that caused them.

A row is written in the same transaction as its change (``UnitOfWork.commit``, or the
one-statement PostgreSQL paths), so a committed change always has its events. The relay
(``platform/relay.py``) gives each stored event its ``position`` in commit order and publishes
it on the bus; the position is the SSE event id a reconnecting client sends back as
``Last-Event-ID``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = ["EventLogEntry", "EventRelayCursor"]


class EventLogEntry(Base):
    """One domain event; ``position`` is NULL until the relay published it."""

    __tablename__ = "event_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(Snowflake)
    name: Mapped[str] = mapped_column(String(64))
    data: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)

    __table_args__ = (
        # What the relay looks for: the few rows not yet published, in insertion order.
        Index(
            "ix_event_log_unpublished",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        Index("ix_event_log_created_at", "created_at"),
    )


class EventRelayCursor(Base):
    """The last position handed out; its row lock serialises relays across processes."""

    __tablename__ = "event_relay"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
