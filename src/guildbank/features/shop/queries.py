"""Reading the shop: items with their post status, a member's inventory, an item's buyers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.queries import get_config
from guildbank.features.shop.errors import ItemNotFound
from guildbank.features.shop.rules import is_expired, item_key, sell_value
from guildbank.features.shop.schemas import (
    BuyerOut,
    InventoryEntryOut,
    InventoryOut,
    ItemOut,
    PostStatus,
)
from guildbank.platform.clock import as_utc
from guildbank.platform.models.outbox import OutboxJob, OutboxMessage
from guildbank.platform.models.shop import ShopInventory, ShopItem, ShopPurchase
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "check_user",
    "get_item",
    "get_item_or_raise",
    "held_quantity",
    "inventory",
    "item_buyers",
    "item_view",
    "list_items",
    "owned_item_ids",
    "post_statuses",
]


def check_user(user_id: str) -> None:
    if not is_snowflake(user_id):
        raise InvalidInput(f"{user_id!r} is not a Discord user id", code="invalid_id")


def item_view(row: ShopItem, uow: UnitOfWork, post: PostStatus | None = None) -> ItemOut:
    """The read model of an item row (``post``: its Discord post, when looked up)."""
    expires_at = None if row.expires_at is None else as_utc(row.expires_at)
    return ItemOut(
        id=row.id,
        guild_id=row.guild_id,
        name=row.name,
        description=row.description,
        emoji=row.emoji,
        price=row.price,
        category=row.category,
        stock=row.stock,
        is_active=row.is_active,
        expires_at=expires_at,
        is_expired=is_expired(expires_at, uow.now),
        usable=row.usable,
        sellable=row.sellable,
        sell_percent=row.sell_percent,
        max_per_member=row.max_per_member,
        requirements=list(row.requirements),
        requirement_mode=row.requirement_mode,
        purchase_actions=list(row.purchase_actions),
        use_actions=list(row.use_actions),
        sales_count=row.sales_count,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        post=post or PostStatus(),
    )


async def post_statuses(
    uow: UnitOfWork, guild_id: str, item_ids: Iterable[int]
) -> dict[int, PostStatus]:
    """Each item's Discord post as the outbox knows it: the message, and the latest job."""
    keys = {item_key(i): i for i in item_ids}
    if not keys:
        return {}
    messages = (
        await uow.session.execute(
            select(OutboxMessage.key, OutboxMessage.channel_id, OutboxMessage.message_id).where(
                OutboxMessage.guild_id == guild_id, OutboxMessage.key.in_(keys)
            )
        )
    ).all()
    dedupe = {f"message:{k}": k for k in keys}
    latest = (
        select(OutboxJob.dedupe_key, func.max(OutboxJob.id).label("id"))
        .where(OutboxJob.guild_id == guild_id, OutboxJob.dedupe_key.in_(dedupe))
        .group_by(OutboxJob.dedupe_key)
        .subquery()
    )
    jobs = (
        await uow.session.execute(
            select(OutboxJob.dedupe_key, OutboxJob.status, OutboxJob.last_error).join(
                latest, latest.c.id == OutboxJob.id
            )
        )
    ).all()
    found: dict[int, PostStatus] = {}
    for key, channel_id, message_id in messages:
        found[keys[key]] = PostStatus(channel_id=channel_id, message_id=message_id)
    for dedupe_key, status, error in jobs:
        item_id = keys[dedupe[str(dedupe_key)]]
        current = found.get(item_id, PostStatus())
        found[item_id] = current.model_copy(update={"sync_status": status, "last_error": error})
    return found


async def get_item_or_raise(
    uow: UnitOfWork, *, guild_id: str, item_id: int, lock: bool = False
) -> ShopItem:
    """The guild's item (row-locked when ``lock``); ItemNotFound for another guild's id."""
    query = select(ShopItem).where(ShopItem.id == item_id, ShopItem.guild_id == guild_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = (await uow.session.execute(query)).scalar_one_or_none()
    if row is None:
        raise ItemNotFound(item_id)
    return row


async def get_item(uow: UnitOfWork, *, guild_id: str, item_id: int) -> ItemOut:
    await get_config(uow, guild_id)
    row = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id)
    posts = await post_statuses(uow, guild_id, [row.id])
    return item_view(row, uow, posts.get(row.id))


async def list_items(
    uow: UnitOfWork,
    *,
    guild_id: str,
    category: str | None = None,
    active_only: bool = True,
    include_out_of_stock: bool = True,
) -> list[ItemOut]:
    """The guild's items by category and name; active and unexpired ones unless asked."""
    await get_config(uow, guild_id)
    query = select(ShopItem).where(ShopItem.guild_id == guild_id)
    if category is not None:
        query = query.where(func.lower(ShopItem.category) == category.strip().lower())
    if active_only:
        query = query.where(ShopItem.is_active)
    if not include_out_of_stock:
        query = query.where(ShopItem.stock != 0)
    rows = (
        (await uow.session.execute(query.order_by(ShopItem.category, ShopItem.name)))
        .scalars()
        .all()
    )
    posts = await post_statuses(uow, guild_id, [r.id for r in rows])
    views = [item_view(row, uow, posts.get(row.id)) for row in rows]
    return [v for v in views if not (active_only and v.is_expired)]


async def held_quantity(uow: UnitOfWork, *, guild_id: str, user_id: str, item_id: int) -> int:
    held = (
        await uow.session.execute(
            select(ShopInventory.quantity).where(
                ShopInventory.guild_id == guild_id,
                ShopInventory.user_id == user_id,
                ShopInventory.item_id == item_id,
            )
        )
    ).scalar_one_or_none()
    return held or 0


async def owned_item_ids(uow: UnitOfWork, *, guild_id: str, user_id: str) -> set[int]:
    rows = await uow.session.execute(
        select(ShopInventory.item_id).where(
            ShopInventory.guild_id == guild_id,
            ShopInventory.user_id == user_id,
            ShopInventory.quantity > 0,
        )
    )
    return set(rows.scalars().all())


async def inventory(uow: UnitOfWork, *, guild_id: str, user_id: str) -> InventoryOut:
    """What the member holds, by item name (items they used up are left out)."""
    await get_config(uow, guild_id)
    check_user(user_id)
    rows = (
        await uow.session.execute(
            select(ShopInventory.quantity, ShopItem)
            .join(ShopItem, ShopItem.id == ShopInventory.item_id)
            .where(
                ShopInventory.guild_id == guild_id,
                ShopInventory.user_id == user_id,
                ShopInventory.quantity > 0,
            )
            .order_by(ShopItem.name)
        )
    ).all()
    items = [
        InventoryEntryOut(
            item_id=item.id,
            name=item.name,
            emoji=item.emoji,
            category=item.category,
            quantity=quantity,
            usable=item.usable,
            sellable=item.sellable,
            sell_value=sell_value(item.price, item.sell_percent) if item.sellable else 0,
            is_expired=is_expired(
                None if item.expires_at is None else as_utc(item.expires_at), uow.now
            ),
        )
        for quantity, item in rows
    ]
    return InventoryOut(guild_id=guild_id, user_id=user_id, items=items)


async def item_buyers(
    uow: UnitOfWork, *, guild_id: str, item_id: int, limit: int = 50, offset: int = 0
) -> list[BuyerOut]:
    """The item's purchases, newest first."""
    await get_config(uow, guild_id)
    await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id)
    rows = (
        (
            await uow.session.execute(
                select(ShopPurchase)
                .where(ShopPurchase.item_id == item_id)
                .order_by(ShopPurchase.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return [
        BuyerOut(
            purchase_id=row.id,
            user_id=row.user_id,
            quantity=row.quantity,
            total=row.total,
            created_at=as_utc(row.created_at),
            refunded_at=None if row.refunded_at is None else as_utc(row.refunded_at),
        )
        for row in rows
    ]
