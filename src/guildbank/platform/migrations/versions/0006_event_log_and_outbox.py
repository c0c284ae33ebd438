"""Durable events and Discord side effects: the event log, its relay cursor, the outbox.

Both are written in the same transaction as the change that causes them (SPEC §2, §10).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNPUBLISHED = sa.text("position IS NULL")
OPEN = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.String(20), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_log"),
        sa.UniqueConstraint("position", name="uq_event_log_position"),
    )
    op.create_index(
        "ix_event_log_unpublished",
        "event_log",
        ["id"],
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )
    op.create_index("ix_event_log_created_at", "event_log", ["created_at"])
    op.create_table(
        "event_relay",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_event_relay"),
    )
    op.execute("INSERT INTO event_relay (name, position) VALUES ('events', 0)")
    op.create_table(
        "outbox_jobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'cancelled')",
            name="ck_outbox_jobs_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_jobs"),
    )
    op.create_index("ix_outbox_jobs_due", "outbox_jobs", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_jobs_guild_id", "outbox_jobs", ["guild_id", "status"])
    op.create_index(
        "uq_outbox_jobs_open_dedupe",
        "outbox_jobs",
        ["guild_id", "dedupe_key"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_table("outbox_jobs")
    op.drop_table("event_relay")
    op.drop_table("event_log")
