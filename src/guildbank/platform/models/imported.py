"""Tables of the importer (features/imports): import runs, what each imported record became,
and the old bot's transaction log kept as read-only history.

The imported history is not ledger entries: the opening balances are (``import``
transactions), so the old log is shown beside the ledger and never counted twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp
from guildbank.platform.models.ledger import bounds_checks

__all__ = ["ImportRecord", "ImportRun", "ImportedHistory"]


class ImportRun(Base):
    """One import of one guild's files; ``source_hash`` (SHA-256 of the files) makes a second
    run of the same files a no-op."""

    __tablename__ = "import_runs"
    __table_args__ = (
        UniqueConstraint("guild_id", "source_hash", name="uq_import_runs_guild_hash"),
        Index("ix_import_runs_guild", "guild_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    source_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="", server_default="")
    actor_id: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ImportRecord(Base):
    """What a record of the old files became here (``kind`` "task": a task id), so a later
    import of changed files does not create it twice."""

    __tablename__ = "import_records"
    __table_args__ = (
        UniqueConstraint("guild_id", "kind", "source_key", name="uq_import_records_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    source_key: Mapped[str] = mapped_column(String(100))
    target_id: Mapped[int] = mapped_column(BigInteger)


class ImportedHistory(Base):
    """One line of the old bot's transaction log, read-only."""

    __tablename__ = "imported_history"
    __table_args__ = (
        UniqueConstraint("guild_id", "source_id", name="uq_imported_history_source"),
        Index("ix_imported_history_guild", "guild_id", "id"),
        Index("ix_imported_history_member", "guild_id", "user_id", "id"),
        *bounds_checks("amount"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(Snowflake)
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[int | None] = mapped_column(BigInteger)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    occurred_at: Mapped[datetime | None] = mapped_column(Timestamp)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
