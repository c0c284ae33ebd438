"""Announcements: embed templates, announcements, custom commands, operator settings.

``operator_settings`` holds operator-wide values by name (the bot's presence, defaults for
new guilds) so every process reads the same ones and they survive restarts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def _guild_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["guild_id"], ["guilds.id"], name=op.f(f"fk_{table}_guild_id_guilds"), ondelete="CASCADE"
    )


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", Stamp, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", Stamp, server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "embed_templates",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("embed", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_stamps(),
        _guild_fk("embed_templates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embed_templates")),
        sa.UniqueConstraint("guild_id", "name", name="uq_embed_templates_guild_name"),
    )
    op.create_table(
        "announcements",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), server_default="", nullable=False),
        sa.Column("embed", sa.JSON(), nullable=True),
        sa.Column("pin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="posted", nullable=False),
        sa.Column("scheduled_at", Stamp, nullable=True),
        sa.Column("posted_at", Stamp, nullable=True),
        sa.Column("orphaned_at", Stamp, nullable=True),
        sa.Column("task_id", Id, nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            "status IN ('scheduled', 'posted', 'cancelled', 'deleted')",
            name=op.f("ck_announcements_status"),
        ),
        _guild_fk("announcements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_guild", "announcements", ["guild_id", "created_at"])
    op.create_index("ix_announcements_due", "announcements", ["status", "scheduled_at"])
    op.create_table(
        "custom_commands",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("response", sa.Text(), server_default="", nullable=False),
        sa.Column("embed_id", Id, nullable=True),
        *_stamps(),
        _guild_fk("custom_commands"),
        sa.ForeignKeyConstraint(
            ["embed_id"],
            ["embed_templates.id"],
            name=op.f("fk_custom_commands_embed_id_embed_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_commands")),
        sa.UniqueConstraint("guild_id", "name", name="uq_custom_commands_guild_name"),
    )
    op.create_table(
        "custom_command_sets",
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_at", Stamp, server_default=sa.func.now(), nullable=False),
        _guild_fk("custom_command_sets"),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_custom_command_sets")),
    )
    op.create_table(
        "operator_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_at", Stamp, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_operator_settings")),
    )


def downgrade() -> None:
    op.drop_table("operator_settings")
    op.drop_table("custom_command_sets")
    op.drop_table("custom_commands")
    op.drop_index("ix_announcements_due", table_name="announcements")
    op.drop_index("ix_announcements_guild", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("embed_templates")
