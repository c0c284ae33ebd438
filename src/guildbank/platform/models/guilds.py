"""Tables of the guilds feature: the guild, its settings, and the channels and roles the bot
reports (so people pick names, not ids, and bad ids are refused)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Snowflake, Timestamp

__all__ = ["Guild", "GuildChannel", "GuildRole", "GuildSettings"]


class Guild(Base):
    __tablename__ = "guilds"

    id: Mapped[str] = mapped_column(Snowflake, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # When the bot last reported every channel and role (NULL: never, so ids are not checked).
    metadata_synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
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
    moderator_role_ids: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    # Feature toggles are on by default: only the names turned off are stored.
    disabled_features: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    log_channel_id: Mapped[str | None] = mapped_column(Snowflake)
    shop_channel_id: Mapped[str | None] = mapped_column(Snowflake)
    task_channel_id: Mapped[str | None] = mapped_column(Snowflake)
    # Raised by every change: a save based on an older version is refused (optimistic edits).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now(), onupdate=func.now()
    )


class GuildChannel(Base):
    """A channel of a guild as the bot last saw it; ``deleted_at`` keeps the name of a gone one."""

    __tablename__ = "guild_channels"
    __table_args__ = (
        PrimaryKeyConstraint("guild_id", "id"),
        # "That channel belongs to another server": channel ids are unique across Discord.
        Index("ix_guild_channels_id", "id"),
    )

    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(Snowflake)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    parent_id: Mapped[str | None] = mapped_column(Snowflake)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class GuildRole(Base):
    """A role of a guild as the bot last saw it: enough to name it and to tell whether the bot
    may grant it (below the bot's highest role, not managed by an integration)."""

    __tablename__ = "guild_roles"
    __table_args__ = (PrimaryKeyConstraint("guild_id", "id"),)

    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(Snowflake)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    color: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The bot's own member holds it: the highest such role bounds what the bot may grant.
    bot_holds: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
