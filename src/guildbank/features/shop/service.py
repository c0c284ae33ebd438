"""Buying, using and selling back items: each one transaction, whatever it touches.

A purchase locks the item's row first, so purchases of one item run one after another:
the stock and the member's holding read after the lock are current, and no concurrency can
oversell or take a member past the item's limit. The money moves through the ledger (the
buyer pays the guild's ``shop`` account), then the stock, the inventory, the purchase row,
the purchase actions and the Discord post follow in the same transaction: a refusal at any
step rolls all of it back. Lock order, everywhere in the shop: the item row, then accounts
(in the order every posting locks them); selling back locks the item first for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from guildbank.core.errors import InvalidInput
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.shop.actions import run_actions
from guildbank.features.shop.errors import (
    CannotAfford,
    ItemExpired,
    ItemNotOwned,
    ItemNotSellable,
    ItemNotUsable,
    SoldOut,
)
from guildbank.features.shop.events import ItemSold, ItemUsed, Purchased, StockChanged
from guildbank.features.shop.holdings import give, take
from guildbank.features.shop.lean import purchase_standalone
from guildbank.features.shop.posts import sync_post
from guildbank.features.shop.queries import (
    check_user,
    get_item_or_raise,
    held_quantity,
    item_view,
    owned_item_ids,
)
from guildbank.features.shop.rules import (
    MAX_PURCHASE_QUANTITY,
    UNLIMITED,
    check_can_buy,
    check_requirements,
    is_expired,
    purchase_total,
    sell_value,
)
from guildbank.features.shop.sales import count_sales
from guildbank.features.shop.schemas import PurchaseOut, SellOut, UseOut
from guildbank.ledger import posting
from guildbank.ledger.accounts import (
    ensure_account,
    read_balance,
    shop_account,
    system_account_id,
)
from guildbank.ledger.errors import InsufficientBalance
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.members import limit_balance_changes
from guildbank.ledger.types import TransactionType
from guildbank.platform import idempotency
from guildbank.platform.clock import as_utc
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.models.shop import ShopItem, ShopPurchase
from guildbank.platform.uow import UnitOfWork

__all__ = ["change_stock_by", "purchase", "sell_item", "use_item"]


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_PURCHASE_QUANTITY:
        raise InvalidInput(
            f"The quantity must be between 1 and {MAX_PURCHASE_QUANTITY}.",
            code="invalid_quantity",
        )


async def _item_names(uow: UnitOfWork, guild_id: str, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await uow.session.execute(
        select(ShopItem.id, ShopItem.name).where(
            ShopItem.guild_id == guild_id, ShopItem.id.in_(wanted)
        )
    )
    return {int(i): str(n) for i, n in rows.all()}


async def _check_requirements(
    uow: UnitOfWork,
    item: ShopItem,
    *,
    user_id: str,
    account: int,
    role_ids: Iterable[str] | None,
    config: EconomyConfig,
) -> None:
    if not item.requirements:
        return
    needed = [int(r["item_id"]) for r in item.requirements if r["type"] == "item"]
    check_requirements(
        item.requirements,
        item.requirement_mode,
        item_id=item.id,
        role_ids=None if role_ids is None else frozenset(role_ids),
        owned=await owned_item_ids(uow, guild_id=item.guild_id, user_id=user_id),
        balance=await read_balance(uow, account),
        item_names=await _item_names(uow, item.guild_id, needed),
        currency=config.currency_name,
    )


async def change_stock_by(uow: UnitOfWork, item: ShopItem, delta: int) -> None:
    """Move a limited stock by ``delta`` (an unlimited item is not written); SoldOut if the
    stock would go below zero. Updates ``item`` to match."""
    if item.stock == UNLIMITED or delta == 0:
        return
    stock = (
        await uow.session.execute(
            update(ShopItem)
            .where(ShopItem.id == item.id, ShopItem.stock >= -delta)
            .values(stock=ShopItem.stock + delta, updated_at=uow.now)
            .returning(ShopItem.stock)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if stock is None:
        raise SoldOut(item_id=item.id, name=item.name, stock=item.stock, wanted=-delta)
    # What the row now holds, without reading it again.
    set_committed_value(item, "stock", int(stock))
    set_committed_value(item, "updated_at", uow.now)


async def purchase(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    item_id: int,
    quantity: int = 1,
    role_ids: Iterable[str] | None = None,
    keyed: IdempotentRequest | None = None,
) -> PurchaseOut:
    """Buy ``quantity`` of an item: validate, pay the shop, take stock, add to the inventory.

    With ``keyed`` (an ``Idempotency-Key``) the key is recorded with the purchase, and a
    repeat raises Replayed with the first response instead of buying again.
    """
    config = await get_config(uow, guild_id)
    check_user(user_id)
    _check_quantity(quantity)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
    )
    if not uow.began:
        # A plain purchase by a known member is one statement on PostgreSQL (``lean.py``):
        # its events and the key's record included. Anything else takes the path below.
        done = await purchase_standalone(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            item_id=item_id,
            quantity=quantity,
            limited_ok=config.shop_channel_id is None,
            keyed=keyed,
        )
        if done is not None:
            return done
    if keyed is not None:
        await idempotency.replay_if_recorded(uow, keyed)
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id, lock=True)
    held = (
        0
        if item.max_per_member is None
        else await held_quantity(uow, guild_id=guild_id, user_id=user_id, item_id=item.id)
    )
    check_can_buy(
        item_id=item.id,
        name=item.name,
        is_active=item.is_active,
        expires_at=None if item.expires_at is None else as_utc(item.expires_at),
        now=uow.now,
        stock=item.stock,
        max_per_member=item.max_per_member,
        held=held,
        quantity=quantity,
    )
    await _check_requirements(
        uow, item, user_id=user_id, account=account, role_ids=role_ids, config=config
    )
    try:
        total = purchase_total(item.price, quantity)
    except ValueError as error:
        raise InvalidInput(str(error), code="amount_out_of_range") from None
    limited = item.stock != UNLIMITED
    await change_stock_by(uow, item, -quantity)
    await count_sales(uow, item, user_id=user_id, quantity=quantity)
    held = await give(uow, guild_id=guild_id, user_id=user_id, item_id=item.id, quantity=quantity)
    # Paid after the item's own rows: the shop account's row lock (every purchase of the
    # guild takes it) is held for as little of the transaction as possible.
    transaction_id, balance = await _pay(uow, item, config, account, user_id, quantity, total)
    purchase_id = (
        await uow.session.execute(
            insert(ShopPurchase)
            .values(
                guild_id=guild_id,
                item_id=item.id,
                user_id=user_id,
                quantity=quantity,
                total=total,
                transaction_id=transaction_id,
                created_at=uow.now,
            )
            .returning(ShopPurchase.id)
        )
    ).scalar_one()
    effects = await run_actions(
        uow,
        item.purchase_actions,
        guild_id=guild_id,
        user_id=user_id,
        account=account,
        config=config,
        times=quantity,
        why=f"bought {item.name}",
    )
    if balance is None or effects.bytes_change:
        balance = await read_balance(uow, account)
    if limited:
        await sync_post(uow, item, config)
        uow.emit(
            StockChanged(
                guild_id=guild_id, item_id=item.id, stock=item.stock, sales_count=item.sales_count
            )
        )
    uow.emit(
        Purchased(
            guild_id=guild_id,
            purchase_id=purchase_id,
            item_id=item.id,
            user_id=user_id,
            quantity=quantity,
            total=total,
            balance=balance,
            transaction_id=transaction_id,
        )
    )
    result = PurchaseOut(
        **effects.model_dump(),
        purchase_id=purchase_id,
        guild_id=guild_id,
        user_id=user_id,
        item=item_view(item, uow),
        quantity=quantity,
        total=total,
        balance=balance,
        held=held,
        transaction_id=transaction_id,
    )
    if keyed is not None:
        await idempotency.record(uow, keyed, status_code=200, body=result.model_dump(mode="json"))
    return result


async def _pay(
    uow: UnitOfWork,
    item: ShopItem,
    config: EconomyConfig,
    account: int,
    user_id: str,
    quantity: int,
    total: int,
) -> tuple[int | None, int | None]:
    """The buyer pays the shop account: (transaction id, buyer's balance after), or
    (None, None) for a free item (nothing is posted)."""
    if total == 0:
        return None, None
    shop = await system_account_id(uow, item.guild_id, shop_account(user_id))
    try:
        posted = await posting.post(
            uow,
            guild_id=item.guild_id,
            type=TransactionType.SHOP_PURCHASE,
            legs=transfer_legs(source=account, target=shop, amount=total, counts=False),
            reason=f"Bought {quantity} x {item.name}"[:200],
            actor_id=user_id,
            payer=posting.Payer(account, config.currency_name, config.starting_balance, "pay"),
        )
    except InsufficientBalance as refused:
        raise CannotAfford(
            available=int(refused.fields["available"]),
            needed=total,
            currency=config.currency_name,
        ) from None
    return posted.id, posted.entry(account).balance_after


async def use_item(
    uow: UnitOfWork,
    *,
    guild_id: str,
    user_id: str,
    item_id: int,
) -> UseOut:
    """Consume one of a usable item the member holds and run its use actions."""
    config = await get_config(uow, guild_id)
    check_user(user_id)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id)
    if not item.usable:
        raise ItemNotUsable(item_id=item.id, name=item.name)
    if is_expired(None if item.expires_at is None else as_utc(item.expires_at), uow.now):
        raise ItemExpired(item_id=item.id, name=item.name)
    if any(a["type"] in ("add_bytes", "remove_bytes") for a in item.use_actions):
        await limit_balance_changes(
            uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
        )
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
    remaining = await take(uow, guild_id=guild_id, user_id=user_id, item_id=item.id, quantity=1)
    if remaining is None:
        raise ItemNotOwned(item_id=item.id, name=item.name)
    effects = await run_actions(
        uow,
        item.use_actions,
        guild_id=guild_id,
        user_id=user_id,
        account=account,
        config=config,
        why=f"used {item.name}",
    )
    uow.emit(ItemUsed(guild_id=guild_id, item_id=item.id, user_id=user_id, remaining=remaining))
    return UseOut(
        **effects.model_dump(),
        guild_id=guild_id,
        user_id=user_id,
        item_id=item.id,
        name=item.name,
        remaining=remaining,
        balance=await read_balance(uow, account),
    )


async def sell_item(
    uow: UnitOfWork, *, guild_id: str, user_id: str, item_id: int, quantity: int = 1
) -> SellOut:
    """Sell items back to the shop for their sell share; a limited stock gets them back."""
    config = await get_config(uow, guild_id)
    check_user(user_id)
    _check_quantity(quantity)
    await limit_balance_changes(
        uow, guild_id=guild_id, user_id=user_id, per_minute=config.rate_limit_per_minute
    )
    account = await ensure_account(uow, guild_id, user_id, starting_balance=config.starting_balance)
    item = await get_item_or_raise(uow, guild_id=guild_id, item_id=item_id, lock=True)
    if not item.sellable:
        raise ItemNotSellable(item_id=item.id, name=item.name)
    remaining = await take(
        uow, guild_id=guild_id, user_id=user_id, item_id=item.id, quantity=quantity
    )
    if remaining is None:
        held = await held_quantity(uow, guild_id=guild_id, user_id=user_id, item_id=item.id)
        raise ItemNotOwned(item_id=item.id, name=item.name, held=held, wanted=quantity)
    amount = sell_value(item.price, item.sell_percent, quantity)
    transaction_id = None
    if amount > 0:
        shop = await system_account_id(uow, guild_id, shop_account(user_id))
        posted = await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.SHOP_SALE,
            legs=transfer_legs(source=shop, target=account, amount=amount, counts=False),
            reason=f"Sold back {quantity} x {item.name}"[:200],
            actor_id=user_id,
        )
        transaction_id = posted.id
    if item.stock != UNLIMITED:
        await change_stock_by(uow, item, quantity)
        await sync_post(uow, item, config)
        uow.emit(
            StockChanged(
                guild_id=guild_id, item_id=item.id, stock=item.stock, sales_count=item.sales_count
            )
        )
    uow.emit(
        ItemSold(
            guild_id=guild_id,
            item_id=item.id,
            user_id=user_id,
            quantity=quantity,
            amount=amount,
            transaction_id=transaction_id,
        )
    )
    return SellOut(
        guild_id=guild_id,
        user_id=user_id,
        item_id=item.id,
        name=item.name,
        quantity=quantity,
        amount=amount,
        remaining=remaining,
        balance=await read_balance(uow, account),
        transaction_id=transaction_id,
    )
