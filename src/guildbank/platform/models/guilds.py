"""Tables of the guilds feature: the guild and its settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Snowflake, Timestamp

__all__ = ["Guild", "GuildSettings"]


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
