"""Tables of API access: keys and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = ["ApiKey", "IdempotencyRecord"]


class IdempotencyRecord(Base):
    """The first response to a write carrying an ``Idempotency-Key``, replayed on a repeat.

    A key belongs to the API key that sent it (``api_key_id``: ``Principal.key_id``; the
    embedded bot's in-memory key is 0), so two integrators never share one. ``method``,
    ``path`` and ``request`` (the canonical JSON body) say what the key was used for: a repeat
    whose ``fingerprint`` differs is refused, naming what differs. Purged after the retention
    period (``platform.idempotency.purge_expired``), hence the BRIN index on ``created_at``:
    rows arrive in time order, and the index costs next to nothing per insert.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index("ix_idempotency_records_created_at", "created_at", postgresql_using="brin"),
    )

    api_key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    guild_id: Mapped[str] = mapped_column(Snowflake)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    request: Mapped[Any | None] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ApiKey(Base):
    """A service key: only its SHA-256 is stored; ``prefix`` finds it without scanning."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # The guilds the key may act on; NULL is a global (operator) key.
    guild_ids: Mapped[list[str] | None] = mapped_column(JSON)
    # Who created it in the dashboard (a Discord id); NULL for the CLI or the local admin.
    created_by: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
