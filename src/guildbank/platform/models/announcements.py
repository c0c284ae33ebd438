"""Tables of the announcements feature: embed templates, announcements, custom commands, and
operator-wide settings (the bot's presence, defaults for new guilds).

Discord messages themselves are the outbox's (``outbox_messages`` by key): an announcement
is shown by the key ``announcement:{id}``, a posted template by ``embed:{id}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = [
    "ANNOUNCEMENT_STATUSES",
    "Announcement",
    "CustomCommand",
    "CustomCommandSet",
    "EmbedTemplate",
    "OperatorSetting",
]

ANNOUNCEMENT_STATUSES = ("scheduled", "posted", "cancelled", "deleted")


class EmbedTemplate(Base):
    """A saved embed (Discord's JSON shape, validated by ``announcements.rules``); once
    posted, ``channel_id`` says where its message lives and edits follow it there."""

    __tablename__ = "embed_templates"
    __table_args__ = (UniqueConstraint("guild_id", "name", name="uq_embed_templates_guild_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    embed: Mapped[Any] = mapped_column(JSON)
    channel_id: Mapped[str | None] = mapped_column(Snowflake)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class Announcement(Base):
    """Content and/or an embed for a channel, posted now or by the scheduler at
    ``scheduled_at``; ``status`` moves scheduled → posted (or cancelled) → deleted."""

    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("status IN ('scheduled', 'posted', 'cancelled', 'deleted')", name="status"),
        Index("ix_announcements_guild", "guild_id", "created_at"),
        Index("ix_announcements_due", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(Snowflake)
    content: Mapped[str] = mapped_column(Text, default="", server_default="")
    embed: Mapped[Any | None] = mapped_column(JSON)
    pin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default="posted", server_default="posted")
    scheduled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    posted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The message was deleted in Discord (reported by the bot); an edit posts it again.
    orphaned_at: Mapped[datetime | None] = mapped_column(Timestamp)
    task_id: Mapped[int | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class CustomCommand(Base):
    """``/name`` answered with a text and/or a saved embed; the bot registers these as guild
    slash commands. Deleting the embed it uses is refused while the command exists."""

    __tablename__ = "custom_commands"
    __table_args__ = (UniqueConstraint("guild_id", "name", name="uq_custom_commands_guild_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(100))
    response: Mapped[str] = mapped_column(Text, default="", server_default="")
    embed_id: Mapped[int | None] = mapped_column(ForeignKey("embed_templates.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class CustomCommandSet(Base):
    """A guild's custom commands' version, bumped by every change: a bot compares it with the
    version it registered in Discord and registers again when they differ."""

    __tablename__ = "custom_command_sets"

    guild_id: Mapped[str] = mapped_column(
        ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class OperatorSetting(Base):
    """One operator-wide value by name (``bot.presence``, ``guild.defaults``), versioned."""

    __tablename__ = "operator_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
