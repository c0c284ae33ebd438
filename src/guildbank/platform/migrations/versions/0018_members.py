"""Members tools (features/members): a member's display name, remembered when the bot or the
API reports it, so members can be searched by name without asking Discord.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends (nullable, no default): no table rewrite, so the
    # accounts table keeps its checks, triggers and partial indexes as they are.
    op.add_column("accounts", sa.Column("display_name", sa.String(100), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a plain column in place (no batch copy of the accounts table).
    op.drop_column("accounts", "display_name")
