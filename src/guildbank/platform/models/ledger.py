"""Tables of the ledger kernel: accounts, transactions, entries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.core.limits import MAX_AMOUNT
from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = ["Account", "LedgerEntry", "LedgerTransaction", "bounds_checks"]


def bounds_checks(*columns: str) -> tuple[CheckConstraint, CheckConstraint]:
    """The checks of migration 0008 on a table's money ``columns``: within ``±MAX_AMOUNT``
    (core.limits), and on SQLite, which would store a float, integers only."""
    within = " AND ".join(f"{c} BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}" for c in columns)
    integers = " AND ".join(f"typeof({c}) = 'integer'" for c in columns)
    return (
        CheckConstraint(within, name="within_bounds"),
        CheckConstraint(integers, name="money_is_integer").ddl_if(dialect="sqlite"),
    )


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("guild_id", "user_id"),
        CheckConstraint("is_system OR balance >= 0", name="balance_non_negative"),
        *bounds_checks("balance", "total_received", "total_sent"),
        # Room in each page for the updates that stay HOT: those leaving the balance alone
        # (the leaderboard index holds it since migration 0009).
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    is_system: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_sent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    streak_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_daily: Mapped[date | None] = mapped_column(Date)
    last_transfer_at: Mapped[datetime | None] = mapped_column(Timestamp)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    left_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The member's name as the bot or the API last reported it (search by name; 0018).
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


# The leaderboard in index order: ranked members only, richest first, ties to the oldest
# account; covering on PostgreSQL, so the top and a rank are index-only scans (0009).
Index(
    "ix_accounts_leaderboard",
    Account.guild_id,
    Account.balance.desc(),
    Account.id,
    postgresql_include=["user_id", "total_received"],
    postgresql_where=text("is_active AND NOT is_system"),
    sqlite_where=text("is_active = 1 AND is_system = 0"),  # as SQLAlchemy writes it there
)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index("ix_ledger_transactions_guild_created", "guild_id", "created_at"),
        # A transaction is reversed at most once; the index holds only reversals (0004).
        Index(
            "uq_ledger_transactions_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        *bounds_checks("amount"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # No foreign key to guilds: see migration 0004 (accounts carry it).
    guild_id: Mapped[str] = mapped_column(Snowflake)
    type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account", "account_id", "id"),
        Index("ix_ledger_entries_transaction", "transaction_id"),
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        CheckConstraint("balance_after = balance_before + amount", name="balance_follows"),
        *bounds_checks("amount", "balance_before", "balance_after"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
