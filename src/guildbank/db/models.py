"""SQLAlchemy models. Alembic migrations (``db/migrations``) are the only way the schema is made.

Ledger design (see docs/adr/0001-ledger.md): ``ledger_transactions`` are append-only and
each has entries summing to zero; ``accounts`` carry a cached balance updated in the same
database transaction, with ``CHECK (is_system OR balance >= 0)`` as the last line of defence
against overdrafts. Per-guild system accounts (mint, sink) may go negative.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Guild",
    "GuildSettings",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerTransaction",
    "Squad",
    "SquadMembership",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
Snowflake = String(20)
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Guild(Base):
    __tablename__ = "guilds"

    id: Mapped[str] = mapped_column(Snowflake, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )


class GuildSettings(Base):
    """Economy settings of one guild; defaults live in ``domain.economy.EconomyConfig``."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[str] = mapped_column(
        ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True
    )
    starting_balance: Mapped[int] = mapped_column(BigInteger)
    daily_amount: Mapped[int] = mapped_column(BigInteger)
    streak_bonuses: Mapped[dict[str, int]] = mapped_column(JSON)
    max_transfer: Mapped[int] = mapped_column(BigInteger)
    transfer_cooldown_hours: Mapped[int] = mapped_column(Integer)
    confirm_threshold: Mapped[int] = mapped_column(BigInteger)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    role_rewards: Mapped[dict[str, int]] = mapped_column(JSON)
    currency_name: Mapped[str] = mapped_column(String(32))
    currency_emoji: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64))
    admin_role_ids: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    updated_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("guild_id", "user_id"),
        CheckConstraint("is_system OR balance >= 0", name="balance_non_negative"),
        # No index contains balance: balance updates stay HOT (see migration 0004).
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
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


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
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="CASCADE")
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)


class IdempotencyRecord(Base):
    """The first response to a write carrying an ``Idempotency-Key``, replayed on a repeat."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ApiKey(Base):
    """A service key: only its SHA-256 is stored; ``prefix`` finds it without scanning."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Squad(Base):
    """A team tied to a Discord role; the bot keeps members' roles in step with memberships."""

    __tablename__ = "squads"
    __table_args__ = (
        UniqueConstraint("guild_id", "role_id", name="uq_squads_guild_role"),
        UniqueConstraint("guild_id", "name", name="uq_squads_guild_name"),
        CheckConstraint("switch_cost >= 0", name="switch_cost_non_negative"),
        CheckConstraint("max_members IS NULL OR max_members >= 1", name="max_members_positive"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    role_id: Mapped[str] = mapped_column(Snowflake)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    emoji: Mapped[str | None] = mapped_column(String(64))
    switch_cost: Mapped[int] = mapped_column(BigInteger, default=50, server_default="50")
    max_members: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class SquadMembership(Base):
    """At most one squad per member per guild: the unique (guild, user) constraint says so.

    Leaving keeps the row with ``squad_id`` NULL: the member has used their free first join,
    so leaving and rejoining costs the same as switching. The foreign key to ``squads`` has
    no cascade on purpose: a squad with members is deleted only after an explicit move or kick.
    """

    __tablename__ = "squad_memberships"
    __table_args__ = (
        UniqueConstraint("guild_id", "user_id"),
        Index("ix_squad_memberships_squad", "squad_id", "joined_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    squad_id: Mapped[int | None] = mapped_column(ForeignKey("squads.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    joined_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    left_at: Mapped[datetime | None] = mapped_column(Timestamp)
