"""Counting an item's sales: one upsert into the buyer's shard (``ShopItemSales``).

The item's row is not written, so buyers of one item do not take turns on it; the item's
``sales_count`` is the sum of its shards, read with the item.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from guildbank.ledger.accounts import shop_shard
from guildbank.platform.models.shop import ShopItem, ShopItemSales
from guildbank.platform.uow import UnitOfWork

__all__ = ["count_sales"]


async def count_sales(uow: UnitOfWork, item: ShopItem, *, user_id: str, quantity: int) -> None:
    """Add ``quantity`` (negative for a refund) to the item's sales, in ``user_id``'s shard.

    ``item.sales_count`` follows without reading the shards again: the sum as the item was
    loaded plus this change (other shards may have grown since, on PostgreSQL).
    """
    module = postgresql if uow.services.dialect == "postgresql" else sqlite
    statement = module.insert(ShopItemSales).values(
        item_id=item.id, shard=shop_shard(user_id), guild_id=item.guild_id, sold=quantity
    )
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["item_id", "shard"],
            set_={"sold": ShopItemSales.sold + statement.excluded.sold},
        )
    )
    set_committed_value(item, "sales_count", item.sales_count + quantity)
