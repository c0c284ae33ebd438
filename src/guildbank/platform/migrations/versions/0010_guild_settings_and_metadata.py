"""Guild settings (feature toggles, moderator roles, channels, a version for optimistic edits),
the channels and roles the bot reports, and guild-scoped API keys.

* ``guild_settings``: ``moderator_role_ids`` and ``disabled_features`` (JSON lists, empty:
  every feature on), ``log_channel_id``, ``shop_channel_id``, ``task_channel_id`` (NULL),
  ``version`` (1 for every existing guild).
* ``guilds.metadata_synced_at``: when the bot last reported the full list (NULL: never, so
  ids are taken as typed).
* ``guild_channels`` and ``guild_roles``: one row per (guild, id); a deleted one keeps its row
  with ``deleted_at`` so pages can name what an old setting pointed to.
* ``api_keys.guild_ids`` (NULL = a global operator key) and ``api_keys.created_by``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        for name in ("moderator_role_ids", "disabled_features"):
            batch.add_column(
                sa.Column(name, sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
            )
        for name in ("log_channel_id", "shop_channel_id", "task_channel_id"):
            batch.add_column(sa.Column(name, sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    with op.batch_alter_table("guilds") as batch:
        batch.add_column(sa.Column("metadata_synced_at", Timestamp, nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("guild_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=20), nullable=True))
    op.create_table(
        "guild_channels",
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("parent_id", sa.String(length=20), nullable=True),
        sa.Column("deleted_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_guild_channels_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guild_id", "id", name=op.f("pk_guild_channels")),
    )
    op.create_index("ix_guild_channels_id", "guild_channels", ["id"], unique=False)
    op.create_table(
        "guild_roles",
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("color", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("managed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("bot_holds", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_guild_roles_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guild_id", "id", name=op.f("pk_guild_roles")),
    )


def downgrade() -> None:
    op.drop_table("guild_roles")
    op.drop_index("ix_guild_channels_id", table_name="guild_channels")
    op.drop_table("guild_channels")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("created_by")
        batch.drop_column("guild_ids")
    with op.batch_alter_table("guilds") as batch:
        batch.drop_column("metadata_synced_at")
    with op.batch_alter_table("guild_settings") as batch:
        for name in (
            "version",
            "task_channel_id",
            "shop_channel_id",
            "log_channel_id",
            "disabled_features",
            "moderator_role_ids",
        ):
            batch.drop_column(name)
