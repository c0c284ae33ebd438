"""Tasks: tasks, members' claims (member_tasks), task settings, and scheduler leases.

``tasks.current_claims`` is kept by conditional updates (the max_claims guard); a claim's
``transaction_id`` is the reward's ledger transaction, unique so a claim is paid once.
``scheduler_leases`` names the process running a periodic job (the task expiry) until its
lease expires.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("reward", sa.BigInteger(), nullable=False),
        sa.Column("duration_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=True),
        sa.Column("max_claims", sa.Integer(), server_default="-1", nullable=False),
        sa.Column("current_claims", sa.Integer(), server_default="0", nullable=False),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("role_id", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=20), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.CheckConstraint("reward >= 0", name=op.f("ck_tasks_reward_non_negative")),
        sa.CheckConstraint("duration_hours >= 1", name=op.f("ck_tasks_duration_positive")),
        sa.CheckConstraint(
            "max_claims = -1 OR max_claims >= 1", name=op.f("ck_tasks_max_claims_valid")
        ),
        sa.CheckConstraint(
            "current_claims >= 0", name=op.f("ck_tasks_current_claims_non_negative")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'expired', 'archived')", name=op.f("ck_tasks_status")
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"], ["guilds.id"], name=op.f("fk_tasks_guild_id_guilds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_guild_status", "tasks", ["guild_id", "status"])
    op.create_index("ix_tasks_due", "tasks", ["status", "expires_at"])
    op.create_table(
        "member_tasks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("task_id", Id, nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="in_progress", nullable=False),
        sa.Column("claimed_at", Stamp, nullable=False),
        sa.Column("deadline", Stamp, nullable=False),
        sa.Column("proof_text", sa.String(length=2000), nullable=True),
        sa.Column("proof_urls", sa.JSON(), nullable=False),
        sa.Column("submitted_at", Stamp, nullable=True),
        sa.Column("reviewed_at", Stamp, nullable=True),
        sa.Column("reviewer_id", sa.String(length=20), nullable=True),
        sa.Column("rejection_reason", sa.String(length=200), nullable=True),
        sa.Column("completed_at", Stamp, nullable=True),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_progress', 'submitted', 'accepted', 'rejected', 'expired')",
            name=op.f("ck_member_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_member_tasks_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_member_tasks_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tasks")),
        sa.UniqueConstraint("task_id", "user_id", name="uq_member_tasks_task_user"),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_member_tasks_transaction_id")),
    )
    op.create_index("ix_member_tasks_member", "member_tasks", ["guild_id", "user_id", "status"])
    op.create_index(
        "ix_member_tasks_review", "member_tasks", ["guild_id", "status", "submitted_at"]
    )
    op.create_index("ix_member_tasks_due", "member_tasks", ["status", "deadline"])
    op.create_table(
        "task_settings",
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("allow_user_tasks", sa.Boolean(), nullable=False),
        sa.Column("max_tasks_per_user", sa.Integer(), nullable=False),
        sa.Column("auto_expire_enabled", sa.Boolean(), nullable=False),
        sa.Column("require_proof", sa.Boolean(), nullable=False),
        sa.Column("announcement_channel_id", sa.String(length=20), nullable=True),
        sa.Column("review_channel_id", sa.String(length=20), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.CheckConstraint(
            "max_tasks_per_user >= 1", name=op.f("ck_task_settings_max_tasks_positive")
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_task_settings_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_task_settings")),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_leases")
    op.drop_table("task_settings")
    op.drop_index("ix_member_tasks_due", table_name="member_tasks")
    op.drop_index("ix_member_tasks_review", table_name="member_tasks")
    op.drop_index("ix_member_tasks_member", table_name="member_tasks")
    op.drop_table("member_tasks")
    op.drop_index("ix_tasks_due", table_name="tasks")
    op.drop_index("ix_tasks_guild_status", table_name="tasks")
    op.drop_table("tasks")
