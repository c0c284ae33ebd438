"""The shop's money spread over sixteen system accounts per guild: ``shop`` and ``shop:1`` to
``shop:15``. A member's purchases, sell-backs and shop actions post to the account of their
shard (``ledger.accounts.shop_account``), so concurrent buyers no longer queue on one row.
The shop's balance is the sum of the sixteen.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Frozen here: a later change to ledger.accounts must not rewrite this migration.
SHARDS = tuple(f"shop:{n}" for n in range(1, 16))

_accounts = sa.table(
    "accounts",
    sa.column("guild_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("is_system", sa.Boolean),
)
_guilds = sa.table("guilds", sa.column("id", sa.String))


def upgrade() -> None:
    for name in SHARDS:
        has_shard = sa.exists().where(
            _accounts.c.guild_id == _guilds.c.id, _accounts.c.user_id == name
        )
        op.execute(
            _accounts.insert().from_select(
                ["guild_id", "user_id", "is_system"],
                sa.select(_guilds.c.id, sa.literal(name), sa.true()).where(~has_shard),
            )
        )


def downgrade() -> None:
    # A shard that holds money or has entries is history: refuse rather than lose it.
    names = ", ".join(f"'{name}'" for name in SHARDS)
    used = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT count(*) FROM accounts a WHERE a.user_id IN ({names}) AND a.is_system "  # noqa: S608
                "AND (a.balance <> 0 OR EXISTS "
                "(SELECT 1 FROM ledger_entries e WHERE e.account_id = a.id))"
            )
        )
        .scalar_one()
    )
    if used:
        msg = f"{used} shop shard account(s) hold history; 0019 cannot be downgraded"
        raise RuntimeError(msg)
    op.execute(sa.text(f"DELETE FROM accounts WHERE user_id IN ({names}) AND is_system"))  # noqa: S608
