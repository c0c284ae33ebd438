"""Tables of the shop feature: items, their sales, what members hold, and each purchase.

An item's requirements to buy and its actions (on purchase, on use) are JSON lists checked by
the feature's schemas: they are read with the item and never queried on their own. The
Discord post of an item is not stored here: the outbox keeps it under the key
``shop.item:<id>`` (``outbox_messages``), and its sync status is that key's latest job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from guildbank.platform.models.base import Base, Id, Snowflake, Timestamp
from guildbank.platform.models.ledger import bounds_checks

__all__ = ["ShopInventory", "ShopItem", "ShopItemSales", "ShopPurchase"]


class ShopItemSales(Base):
    """How many of an item sold, in shards: an item's sales are the sum of its rows.

    A purchase adds to the row of the buyer's shard (``ledger.accounts.shop_shard``, the
    shard of the shop account it pays), never to the item's own row, so buyers of one item
    do not take turns on a row: an unlimited item's purchase does not touch the item at all
    (``features/shop/lean.py``). A refund takes its quantity off the buyer's shard, so one
    shard may hold a negative count; the sum never does. Migration 0020.
    """

    __tablename__ = "shop_item_sales"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("shop_items.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    sold: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ShopItem(Base):
    """Something members buy; ``stock`` -1 is unlimited, otherwise what is left to sell."""

    __tablename__ = "shop_items"
    __table_args__ = (
        UniqueConstraint("guild_id", "name", name="uq_shop_items_guild_name"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("stock >= -1", name="stock_valid"),
        CheckConstraint(
            "max_per_member IS NULL OR max_per_member >= 1", name="max_per_member_positive"
        ),
        CheckConstraint("sell_percent BETWEEN 0 AND 100", name="sell_percent_range"),
        CheckConstraint("requirement_mode IN ('all', 'any')", name="requirement_mode"),
        *bounds_checks("price"),
        Index("ix_shop_items_guild_category", "guild_id", "category"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    emoji: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(50), default="", server_default="")
    stock: Mapped[int] = mapped_column(BigInteger, default=-1, server_default="-1")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    usable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    sellable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The share of the price a sell-back returns, in percent.
    sell_percent: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    max_per_member: Mapped[int | None] = mapped_column(Integer)
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default=text("'[]'"))
    requirement_mode: Mapped[str] = mapped_column(String(3), default="all", server_default="all")
    purchase_actions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, server_default=text("'[]'")
    )
    use_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    # Read-only: the sum of the item's sales shards (ShopItemSales), loaded with the item.
    sales_count: Mapped[int] = column_property(
        select(cast(func.coalesce(func.sum(ShopItemSales.sold), 0), BigInteger))
        .where(ShopItemSales.item_id == id)
        .correlate_except(ShopItemSales)
        .scalar_subquery(),
        expire_on_flush=False,  # a write of the item's own row does not change its sales
    )


class ShopInventory(Base):
    """How many of an item a member holds: one row per (guild, member, item)."""

    __tablename__ = "shop_inventories"
    __table_args__ = (
        UniqueConstraint("guild_id", "user_id", "item_id", name="uq_shop_inventories_member_item"),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        Index("ix_shop_inventories_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ShopPurchase(Base):
    """One purchase: who bought how many for what, and its refund once refunded.

    The foreign key to ``shop_items`` has no cascade on purpose: an item once sold is
    deactivated, never deleted, so its purchases keep their item.
    """

    __tablename__ = "shop_purchases"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index("ix_shop_purchases_item", "item_id", "id"),
        Index("ix_shop_purchases_member", "guild_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    guild_id: Mapped[str] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id"))
    user_id: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    # NULL for a free item: nothing was posted.
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    refunded_at: Mapped[datetime | None] = mapped_column(Timestamp)
    refund_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    refunded_by: Mapped[str | None] = mapped_column(Snowflake)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
