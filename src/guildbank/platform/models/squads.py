"""Tables of the squads feature."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp

__all__ = ["Squad", "SquadMembership"]


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
