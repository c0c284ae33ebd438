"""Outbox extras: a job's revision and the Discord messages jobs keep up to date.

``outbox_jobs.revision`` grows each time a newer payload replaces an open job's (coalescing
by dedupe key): a worker finishing an older revision puts the job back to pending, so the
newest wanted state always reaches Discord. ``outbox_messages`` maps a stable key (say
``shop.item:12``) to the Discord message that shows it, so an edit finds the message and a
message deleted in Discord is recreated, its new id stored.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "outbox_messages",
        sa.Column("guild_id", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(20), nullable=False),
        sa.Column("message_id", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "key", name="pk_outbox_messages"),
    )


def downgrade() -> None:
    op.drop_table("outbox_messages")
    with op.batch_alter_table("outbox_jobs") as batch:
        batch.drop_column("revision")
