"""Shop administration: create, edit, delete items, set their stock, refund purchases.

Names are unique per guild (case-insensitively: a friendly check first, the unique
constraint settles a race). An item that was ever bought is deactivated, never deleted: its
purchases keep pointing at it. A refund is the reversal of the purchase's ledger
transaction, with the items taken back out of the inventory (refused when the member no
longer holds them) and the stock restored; roles the purchase granted are taken back.
Every change reaches the item's Discord post through the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.catalog import check_assignable_role
from guildbank.features.guilds.queries import get_config
from guildbank.features.shop.errors import (
    AlreadyRefunded,
    ItemConflict,
    ItemHasSales,
    PurchaseNotFound,
    RefundItemsGone,
)
from guildbank.features.shop.events import ItemChanged, ItemRefunded, StockChanged
from guildbank.features.shop.holdings import take
from guildbank.features.shop.posts import remove_post, sync_post
from guildbank.features.shop.queries import get_item_or_raise, held_quantity, item_view
from guildbank.features.shop.rules import UNLIMITED, new_stock
from guildbank.features.shop.sales import count_sales
from guildbank.features.shop.schemas import ItemDeleteOut, ItemOut, RefundOut
from guildbank.features.shop.service import change_stock_by
from guildbank.ledger import posting
from guildbank.ledger.accounts import account_id, read_balance
from guildbank.ledger.reversals import reversible
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_role_change
from guildbank.platform.models.shop import ShopInventory, ShopItem, ShopPurchase
from guildbank.platform.uow import UnitOfWork

__all__ = ["create_item", "delete_item", "refund_purchase", "set_stock", "update_item"]

NULLABLE = frozenset({"emoji", "expires_at", "max_per_member"})
EDITABLE = frozenset(
    {
        "name",
        "description",
        "emoji",
        "price",
        "category",
        "stock",
        "is_active",
        "expires_at",
        "usable",
        "sellable",
        "sell_percent",
        "max_per_member",
        "requirements",
        "requirement_mode",
        "purchase_actions",
        "use_actions",
    }
)


async def _refuse_duplicate(uow: UnitOfWork, guild_id: str, name: str, exclude: int | None) -> None:
    query = select(ShopItem.name).where(
        ShopItem.guild_id == guild_id, func.lower(ShopItem.name) == name.lower()
    )
    if exclude is not None:
        query = query.where(ShopItem.id != exclude)
    taken = await uow.session.scalar(query)
    if taken is not None:
        raise ItemConflict(
            f"An item named {taken} already exists.", code="item_name_taken", name=taken
        )


async def _check_references(
    uow: UnitOfWork, guild_id: str, values: Mapping[str, Any], self_id: int | None
) -> None:
    """Items named by requirements and actions exist in the guild; granted roles are grantable."""
    lists: Iterable[Any] = (
        values.get("requirements") or [],
        values.get("purchase_actions") or [],
        values.get("use_actions") or [],
    )
    entries = [entry for entries in lists for entry in entries]
    items = {int(e["item_id"]) for e in entries if "item_id" in e} - {self_id}
    if items:
        found = set(
            (
                await uow.session.execute(
                    select(ShopItem.id).where(ShopItem.guild_id == guild_id, ShopItem.id.in_(items))
                )
            )
            .scalars()
            .all()
        )
        missing = sorted(items - found)
        if missing:
            raise InvalidInput(
                f"Unknown shop item(s) {', '.join(map(str, missing))} in requirements or actions.",
                code="shop_item_not_found",
            )
    for entry in entries:
        if entry["type"] in ("add_role", "remove_role"):
            await check_assignable_role(uow, guild_id, str(entry["role_id"]), setting="role_id")


async def _flush_unique(uow: UnitOfWork, name: str) -> None:
    try:
        await uow.session.flush()
    except IntegrityError:
        await uow.rollback()
        raise ItemConflict(
            f"An item named {name} already exists.", code="item_name_taken", name=name
        ) from None


async def create_item(
    uow: UnitOfWork, *, guild_id: str, values: Mapping[str, Any], actor_id: str | None = None
) -> ItemOut:
    """A new item from validated ``values`` (ItemCreate); posted if the guild has a shop channel."""
    config = await get_config(uow, guild_id)
    unknown = set(values) - EDITABLE
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}", code="unknown_field")
    await _refuse_duplicate(uow, guild_id, values["name"], None)
    await _check_references(uow, guild_id, values, None)
    item = ShopItem(guild_id=guild_id, created_at=uow.now, updated_at=uow.now, **values)
    uow.session.add(item)
    await _flush_unique(uow, values["name"])
    await uow.session.refresh(item)
    await sync_post(uow, item, config)
    uow.emit(
        ItemChanged(
            guild_id=guild_id, item_id=item.id, change="created", fields=[], actor_id=actor_id
        )
    )
    return item_view(item, uow)


async def update_item(
    uow: UnitOfWork,
    *,
    guild_id: str,
    item_id: int,
    changes: Mapping[str, Any],
    actor_id: str | None = None,
) -> ItemOut:
    """Change some fields (validated by ItemUpdate); the post follows."""
    config = await get_config(uow, guild_id)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}", code="unknown_field")
    nulls = [k for k, v in changes.items() if v is None and k not in NULLABLE]
    if nulls:
        raise InvalidInput(f"{', '.join(sorted(nulls))} cannot be null", code="invalid_input")
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id, lock=True)
    if "name" in changes:
        await _refuse_duplicate(uow, guild_id, changes["name"], item.id)
    await _check_references(uow, guild_id, changes, item.id)
    changed = sorted(k for k, v in changes.items() if getattr(item, k) != v)
    for key in changed:
        setattr(item, key, changes[key])
    if changed:
        item.updated_at = uow.now
        await _flush_unique(uow, item.name)
        await uow.session.refresh(item)
        await sync_post(uow, item, config)
        uow.emit(
            ItemChanged(
                guild_id=guild_id,
                item_id=item.id,
                change="updated",
                fields=changed,
                actor_id=actor_id,
            )
        )
        if "stock" in changed:
            uow.emit(
                StockChanged(
                    guild_id=guild_id,
                    item_id=item.id,
                    stock=item.stock,
                    sales_count=item.sales_count,
                )
            )
    return item_view(item, uow)


async def set_stock(
    uow: UnitOfWork,
    *,
    guild_id: str,
    item_id: int,
    quantity: int,
    operation: str,
    actor_id: str | None = None,
) -> ItemOut:
    """Set, add to or subtract from the stock (``set`` -1: unlimited)."""
    config = await get_config(uow, guild_id)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id, lock=True)
    try:
        stock = new_stock(item.stock, operation, quantity)
    except ValueError as error:
        raise InvalidInput(str(error), code="invalid_stock") from None
    if stock != item.stock:
        item.stock = stock
        item.updated_at = uow.now
        await uow.session.flush()
        await sync_post(uow, item, config)
        uow.emit(
            StockChanged(
                guild_id=guild_id, item_id=item.id, stock=stock, sales_count=item.sales_count
            )
        )
        uow.emit(
            ItemChanged(
                guild_id=guild_id,
                item_id=item.id,
                change="stock",
                fields=["stock"],
                actor_id=actor_id,
            )
        )
    return item_view(item, uow)


async def delete_item(uow: UnitOfWork, *, guild_id: str, item_id: int) -> ItemDeleteOut:
    """Delete an item nobody ever bought nor holds (deactivate it otherwise)."""
    config = await get_config(uow, guild_id)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id, lock=True)
    bought = await uow.session.scalar(select(func.count()).where(ShopPurchase.item_id == item.id))
    held = await uow.session.scalar(
        select(func.coalesce(func.sum(ShopInventory.quantity), 0)).where(
            ShopInventory.item_id == item.id
        )
    )
    if item.sales_count or bought or held:
        raise ItemHasSales(item_id=item.id, sales=max(item.sales_count, bought or 0))
    await remove_post(uow, item, config)
    name = item.name
    await uow.session.execute(delete(ShopItem).where(ShopItem.id == item.id))
    uow.emit(
        ItemChanged(guild_id=guild_id, item_id=item_id, change="deleted", fields=[], actor_id=None)
    )
    return ItemDeleteOut(guild_id=guild_id, item_id=item_id, name=name)


async def refund_purchase(
    uow: UnitOfWork, *, guild_id: str, purchase_id: int, actor_id: str | None = None
) -> RefundOut:
    """Reverse a purchase: bytes back, items out of the inventory, stock restored."""
    config = await get_config(uow, guild_id)
    bought = (
        await uow.session.execute(
            select(ShopPurchase)
            .where(ShopPurchase.id == purchase_id, ShopPurchase.guild_id == guild_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if bought is None:
        raise PurchaseNotFound(purchase_id)
    if bought.refunded_at is not None:
        raise AlreadyRefunded(purchase_id)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=bought.item_id, lock=True)
    left = await take(
        uow, guild_id=guild_id, user_id=bought.user_id, item_id=item.id, quantity=bought.quantity
    )
    if left is None:
        held = await held_quantity(uow, guild_id=guild_id, user_id=bought.user_id, item_id=item.id)
        raise RefundItemsGone(purchase_id=purchase_id, held=held, bought=bought.quantity)
    transaction_id = None
    if bought.transaction_id is not None:
        undo = await reversible(uow, guild_id=guild_id, transaction_id=bought.transaction_id)
        posted = await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.REVERSAL,
            legs=undo.legs,
            reason=f"Refund of purchase #{purchase_id}: {bought.quantity} x {item.name}"[:200],
            actor_id=actor_id,
            reverses_id=bought.transaction_id,
        )
        transaction_id = posted.id
    restock = bought.quantity if item.stock != UNLIMITED else 0
    await change_stock_by(uow, item, restock)
    unsold = min(bought.quantity, item.sales_count)
    await count_sales(uow, item, user_id=bought.user_id, quantity=-unsold)
    await uow.session.execute(
        update(ShopPurchase)
        .where(ShopPurchase.id == purchase_id)
        .values(refunded_at=uow.now, refund_transaction_id=transaction_id, refunded_by=actor_id)
        .execution_options(synchronize_session=False)
    )
    roles = [str(a["role_id"]) for a in item.purchase_actions if a["type"] == "add_role"]
    for role in roles:
        await enqueue_role_change(
            uow,
            guild_id=guild_id,
            user_id=bought.user_id,
            remove=role,
            reason=f"guildbank: refund of {item.name}",
        )
    await sync_post(uow, item, config)
    account = await account_id(uow, guild_id, bought.user_id)
    balance = 0 if account is None else await read_balance(uow, account)
    uow.emit(
        ItemRefunded(
            guild_id=guild_id,
            purchase_id=purchase_id,
            item_id=item.id,
            user_id=bought.user_id,
            quantity=bought.quantity,
            amount=bought.total,
            transaction_id=transaction_id,
            actor_id=actor_id,
        )
    )
    uow.emit(
        StockChanged(
            guild_id=guild_id, item_id=item.id, stock=item.stock, sales_count=item.sales_count
        )
    )
    return RefundOut(
        guild_id=guild_id,
        purchase_id=purchase_id,
        item_id=item.id,
        user_id=bought.user_id,
        quantity=bought.quantity,
        amount=bought.total,
        balance=balance,
        transaction_id=transaction_id,
        roles_removed=roles,
    )
