"""An item's sales counted in shards (``shop_item_sales``), no longer on the item's row.

Every purchase used to add to ``shop_items.sales_count``, so all buyers of one item took turns
on that row, even for an item without a stock. A purchase now adds to the row of the buyer's
shard (the shard of the shop account it pays, ``ledger.accounts.shop_shard``); the item's
sales are the sum of its rows. Existing counts move to shard 0.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_CHECK = "ck_shop_items_sales_non_negative"
# models.base.Id when written: SQLite's INTEGER, the type of the ids it references there.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shop_item_sales",
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("guild_id", sa.String(20), nullable=False),
        sa.Column("sold", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["shop_items.id"],
            name="fk_shop_item_sales_item_id_shop_items",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name="fk_shop_item_sales_guild_id_guilds",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "shard", name="pk_shop_item_sales"),
    )
    op.execute(
        "INSERT INTO shop_item_sales (item_id, shard, guild_id, sold) "
        "SELECT id, 0, guild_id, sales_count FROM shop_items WHERE sales_count <> 0"
    )
    # SQLite rebuilds the table (batch mode, foreign keys off: migrations/env.py).
    with op.batch_alter_table("shop_items") as batch:
        batch.drop_constraint(_CHECK, type_="check")
        batch.drop_column("sales_count")


def downgrade() -> None:
    with op.batch_alter_table("shop_items") as batch:
        batch.add_column(
            sa.Column("sales_count", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE shop_items SET sales_count = coalesce((SELECT sum(s.sold) "
        "FROM shop_item_sales s WHERE s.item_id = shop_items.id), 0)"
    )
    with op.batch_alter_table("shop_items") as batch:
        batch.create_check_constraint(_CHECK, "sales_count >= 0")
    op.drop_table("shop_item_sales")
