"""Tables of the ledger archive (features/archive, ``ledger/archive.py``): the archive files
and one checkpoint per account.

An archive moves a guild's oldest ledger transactions (with their entries) out of the hot
tables into a compressed file. ``ledger_archives`` registers each file (the row is written in
the very transaction that deletes the rows, so a file without a row holds nothing lost: see
``ledger/archive.py``). ``ledger_checkpoints`` holds, per account, what the archived entries
added up to at the last cut-off: the balance the account's remaining entries start from, and
the money that went in and out. A later archive replaces an account's checkpoint, carrying
the totals forward.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Timestamp

__all__ = ["LedgerArchive", "LedgerCheckpoint"]


class LedgerArchive(Base):
    """One archive file of a guild: the transactions ``first_transaction_id`` to
    ``last_transaction_id`` (all of the guild's that remained up to it), created before
    ``cutoff``. ``file_name`` is relative to the archive directory."""

    __tablename__ = "ledger_archives"
    __table_args__ = (
        UniqueConstraint("guild_id", "last_transaction_id", name="uq_ledger_archives_last"),
        UniqueConstraint("file_name", name="uq_ledger_archives_file_name"),
        Index("ix_ledger_archives_guild", "guild_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    cutoff: Mapped[datetime] = mapped_column(Timestamp)
    first_transaction_id: Mapped[int] = mapped_column(BigInteger)
    last_transaction_id: Mapped[int] = mapped_column(BigInteger)
    transactions: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)
    accounts: Mapped[int] = mapped_column(BigInteger)
    file_name: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class LedgerCheckpoint(Base):
    """An account's archived history in four numbers: ``balance`` after its last archived
    entry (``last_entry_id``), the sums of its archived credits (``received``) and debits
    (``sent``, positive), and how many entries were archived. The account's cached balance
    equals ``balance`` plus its remaining entries, whose chain starts at ``balance``."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (Index("ix_ledger_checkpoints_guild", "guild_id"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    archive_id: Mapped[int] = mapped_column(ForeignKey("ledger_archives.id", ondelete="CASCADE"))
    balance: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger)
    sent: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)
    last_entry_id: Mapped[int] = mapped_column(BigInteger)
    cutoff: Mapped[datetime] = mapped_column(Timestamp)
