"""The ledger archive: archive files and a checkpoint per account (features/archive).

``ledger_archives`` registers each archive file of a guild; ``ledger_checkpoints`` holds,
per account, the balance and totals its archived entries came to (``ledger/archive.py``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_archives",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("cutoff", Stamp, nullable=False),
        sa.Column("first_transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("last_transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_ledger_archives_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_archives")),
        sa.UniqueConstraint("guild_id", "last_transaction_id", name="uq_ledger_archives_last"),
        sa.UniqueConstraint("file_name", name="uq_ledger_archives_file_name"),
    )
    op.create_index("ix_ledger_archives_guild", "ledger_archives", ["guild_id", "id"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("account_id", Id, autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("archive_id", Id, nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("cutoff", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ledger_checkpoints_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["archive_id"],
            ["ledger_archives.id"],
            name=op.f("fk_ledger_checkpoints_archive_id_ledger_archives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_ledger_checkpoints_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index("ix_ledger_checkpoints_guild", "ledger_checkpoints", ["guild_id"])


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_archives")
