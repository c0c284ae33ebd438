"""Shop: items, what members hold, purchases, and a ``shop`` system account in every guild.

* ``shop_items``: unique (guild, name); ``stock`` -1 is unlimited; requirements to buy and
  actions on purchase or use are JSON lists (checked by the feature's schemas).
* ``shop_inventories``: one row per (guild, member, item), ``quantity >= 0``.
* ``shop_purchases``: one row per purchase, with its ledger transaction and, once refunded,
  the reversal's.
* ``accounts``: a ``shop`` system account for each existing guild (new guilds get it with
  their other system accounts). It receives purchase money and pays sell-backs.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
MAX_AMOUNT = 2**53 - 1
EMPTY_LIST = sa.text("'[]'")

_accounts = sa.table(
    "accounts",
    sa.column("guild_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("is_system", sa.Boolean),
)
_guilds = sa.table("guilds", sa.column("id", sa.String))


def _created(name: str) -> sa.Column[object]:
    return sa.Column(name, Timestamp, server_default=sa.func.now(), nullable=False)


def _items() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    integer_check = (
        [sa.CheckConstraint("typeof(price) = 'integer'", name="ck_shop_items_money_is_integer")]
        if sqlite
        else []
    )
    op.create_table(
        "shop_items",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=50), server_default="", nullable=False),
        sa.Column("stock", sa.BigInteger(), server_default="-1", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.Column("usable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sellable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sell_percent", sa.Integer(), server_default="50", nullable=False),
        sa.Column("max_per_member", sa.Integer(), nullable=True),
        sa.Column("requirements", sa.JSON(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("requirement_mode", sa.String(length=3), server_default="all", nullable=False),
        sa.Column("purchase_actions", sa.JSON(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("use_actions", sa.JSON(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("sales_count", sa.BigInteger(), server_default="0", nullable=False),
        _created("created_at"),
        _created("updated_at"),
        sa.CheckConstraint(
            "requirement_mode IN ('all', 'any')", name="ck_shop_items_requirement_mode"
        ),
        sa.CheckConstraint(
            "max_per_member IS NULL OR max_per_member >= 1",
            name="ck_shop_items_max_per_member_positive",
        ),
        sa.CheckConstraint("price >= 0", name="ck_shop_items_price_non_negative"),
        sa.CheckConstraint(
            f"price BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}", name="ck_shop_items_within_bounds"
        ),
        *integer_check,
        sa.CheckConstraint("sales_count >= 0", name="ck_shop_items_sales_non_negative"),
        sa.CheckConstraint(
            "sell_percent BETWEEN 0 AND 100", name="ck_shop_items_sell_percent_range"
        ),
        sa.CheckConstraint("stock >= -1", name="ck_shop_items_stock_valid"),
        sa.ForeignKeyConstraint(
            ["guild_id"], ["guilds.id"], name="fk_shop_items_guild_id_guilds", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shop_items"),
        sa.UniqueConstraint("guild_id", "name", name="uq_shop_items_guild_name"),
    )
    op.create_index("ix_shop_items_guild_category", "shop_items", ["guild_id", "category"])


def _inventories() -> None:
    op.create_table(
        "shop_inventories",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", Id, nullable=False),
        sa.Column("quantity", sa.BigInteger(), server_default="0", nullable=False),
        _created("updated_at"),
        sa.CheckConstraint("quantity >= 0", name="ck_shop_inventories_quantity_non_negative"),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name="fk_shop_inventories_guild_id_guilds",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["shop_items.id"],
            name="fk_shop_inventories_item_id_shop_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shop_inventories"),
        sa.UniqueConstraint(
            "guild_id", "user_id", "item_id", name="uq_shop_inventories_member_item"
        ),
    )
    op.create_index("ix_shop_inventories_item", "shop_inventories", ["item_id"])


def _purchases() -> None:
    op.create_table(
        "shop_purchases",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.String(length=20), nullable=False),
        sa.Column("item_id", Id, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("refunded_at", Timestamp, nullable=True),
        sa.Column("refund_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("refunded_by", sa.String(length=20), nullable=True),
        _created("created_at"),
        sa.CheckConstraint("quantity >= 1", name="ck_shop_purchases_quantity_positive"),
        sa.CheckConstraint("total >= 0", name="ck_shop_purchases_total_non_negative"),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name="fk_shop_purchases_guild_id_guilds",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["shop_items.id"], name="fk_shop_purchases_item_id_shop_items"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shop_purchases"),
    )
    op.create_index("ix_shop_purchases_item", "shop_purchases", ["item_id", "id"])
    op.create_index("ix_shop_purchases_member", "shop_purchases", ["guild_id", "user_id", "id"])


def upgrade() -> None:
    _items()
    _inventories()
    _purchases()
    has_shop = sa.exists().where(
        _accounts.c.guild_id == _guilds.c.id, _accounts.c.user_id == "shop"
    )
    op.execute(
        _accounts.insert().from_select(
            ["guild_id", "user_id", "is_system"],
            sa.select(_guilds.c.id, sa.literal("shop"), sa.true()).where(~has_shop),
        )
    )


def downgrade() -> None:
    # A shop account that holds money (or has entries) is history: keep it rather than lose it.
    op.execute(
        sa.text(
            "DELETE FROM accounts WHERE user_id = 'shop' AND is_system AND balance = 0 "
            "AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.account_id = accounts.id)"
        )
    )
    op.drop_index("ix_shop_purchases_member", table_name="shop_purchases")
    op.drop_index("ix_shop_purchases_item", table_name="shop_purchases")
    op.drop_table("shop_purchases")
    op.drop_index("ix_shop_inventories_item", table_name="shop_inventories")
    op.drop_table("shop_inventories")
    op.drop_index("ix_shop_items_guild_category", table_name="shop_items")
    op.drop_table("shop_items")
