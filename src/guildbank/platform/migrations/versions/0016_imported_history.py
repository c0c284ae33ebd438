"""The importer: import runs, imported records and the old bot's history (features/imports).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from guildbank.core.limits import MAX_AMOUNT

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def _guild_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["guild_id"], ["guilds.id"], name=op.f(f"fk_{table}_guild_id_guilds"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), server_default="", nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, server_default=sa.func.now(), nullable=False),
        _guild_fk("import_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
        sa.UniqueConstraint("guild_id", "source_hash", name="uq_import_runs_guild_hash"),
    )
    op.create_index("ix_import_runs_guild", "import_runs", ["guild_id", "id"])
    op.create_table(
        "import_records",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        _guild_fk("import_records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_records")),
        sa.UniqueConstraint("guild_id", "kind", "source_key", name="uq_import_records_key"),
    )
    money_checks = [
        sa.CheckConstraint(
            f"amount BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}",
            name=op.f("ck_imported_history_within_bounds"),
        )
    ]
    if op.get_bind().dialect.name == "sqlite":
        money_checks.append(
            sa.CheckConstraint(
                "typeof(amount) = 'integer'", name=op.f("ck_imported_history_money_is_integer")
            )
        )
    op.create_table(
        "imported_history",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_before", sa.BigInteger(), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("occurred_at", Stamp, nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _guild_fk("imported_history"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["import_runs.id"],
            name=op.f("fk_imported_history_run_id_import_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_history")),
        sa.UniqueConstraint("guild_id", "source_id", name="uq_imported_history_source"),
        *money_checks,
    )
    op.create_index("ix_imported_history_guild", "imported_history", ["guild_id", "id"])
    op.create_index("ix_imported_history_member", "imported_history", ["guild_id", "user_id", "id"])


def downgrade() -> None:
    op.drop_table("imported_history")
    op.drop_table("import_records")
    op.drop_table("import_runs")
