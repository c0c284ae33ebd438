"""Squads: teams tied to Discord roles, and one membership row per member per guild.

A membership whose ``squad_id`` is NULL records a member who left: their free first join
is spent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "squads",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("role_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=True),
        sa.Column("switch_cost", sa.BigInteger(), server_default="50", nullable=False),
        sa.Column("max_members", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "max_members IS NULL OR max_members >= 1",
            name=op.f("ck_squads_max_members_positive"),
        ),
        sa.CheckConstraint("switch_cost >= 0", name=op.f("ck_squads_switch_cost_non_negative")),
        sa.ForeignKeyConstraint(
            ["guild_id"], ["guilds.id"], name=op.f("fk_squads_guild_id_guilds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_squads")),
        sa.UniqueConstraint("guild_id", "name", name="uq_squads_guild_name"),
        sa.UniqueConstraint("guild_id", "role_id", name="uq_squads_guild_role"),
    )
    op.create_table(
        "squad_memberships",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("squad_id", Id, nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_squad_memberships_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["squad_id"], ["squads.id"], name=op.f("fk_squad_memberships_squad_id_squads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_squad_memberships")),
        sa.UniqueConstraint("guild_id", "user_id", name=op.f("uq_squad_memberships_guild_id")),
    )
    op.create_index(
        "ix_squad_memberships_squad", "squad_memberships", ["squad_id", "joined_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_squad_memberships_squad", table_name="squad_memberships")
    op.drop_table("squad_memberships")
    op.drop_table("squads")
