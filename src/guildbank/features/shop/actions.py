"""Running an item's actions (on purchase or on use) inside the caller's unit of work.

Roles go through the outbox, bytes through the ledger (one ``shop_action`` posting for the
net amount, between the member and the shop account), items through the inventory; replies
are returned for the adapter to show. A member who cannot pay a ``remove_bytes`` action
refuses the whole purchase or use. Amounts and item counts scale with the quantity bought;
roles and replies happen once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.shop.errors import CannotAfford
from guildbank.features.shop.holdings import give, take
from guildbank.features.shop.schemas import Effects
from guildbank.ledger import posting
from guildbank.ledger.accounts import shop_account, system_account_id
from guildbank.ledger.errors import InsufficientBalance
from guildbank.ledger.legs import transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.outbox.service import enqueue_role_change
from guildbank.platform.models.shop import ShopInventory, ShopItem
from guildbank.platform.uow import UnitOfWork

__all__ = ["run_actions"]


async def run_actions(
    uow: UnitOfWork,
    actions: Sequence[Mapping[str, Any]],
    *,
    guild_id: str,
    user_id: str,
    account: int,
    config: EconomyConfig,
    times: int = 1,
    why: str,
) -> Effects:
    """Perform ``actions`` for the member; ``why`` ("bought Cookie") reasons their changes."""
    effects = Effects()
    net = 0
    for action in actions:
        kind = action["type"]
        if kind == "reply":
            effects.messages.append(str(action["message"]))
        elif kind in ("add_role", "remove_role"):
            role = str(action["role_id"])
            adding = kind == "add_role"
            await enqueue_role_change(
                uow,
                guild_id=guild_id,
                user_id=user_id,
                add=role if adding else None,
                remove=None if adding else role,
                reason=f"guildbank: {why}",
            )
            (effects.roles_added if adding else effects.roles_removed).append(role)
        elif kind in ("add_item", "remove_item"):
            await _items(uow, action, guild_id=guild_id, user_id=user_id, times=times)
        elif kind == "add_bytes":
            net += int(action["amount"]) * times
        elif kind == "remove_bytes":
            net -= int(action["amount"]) * times
    if net != 0:
        await _bytes(
            uow, net, guild_id=guild_id, user_id=user_id, account=account, config=config, why=why
        )
        effects.bytes_change = net
    return effects


async def _items(
    uow: UnitOfWork, action: Mapping[str, Any], *, guild_id: str, user_id: str, times: int
) -> None:
    """Give or take another item (one deleted since is skipped; taking stops at what is held)."""
    item_id = int(action["item_id"])
    quantity = int(action.get("quantity", 1)) * times
    exists = await uow.session.scalar(
        select(ShopItem.id).where(ShopItem.id == item_id, ShopItem.guild_id == guild_id)
    )
    if exists is None:
        return
    if action["type"] == "add_item":
        await give(uow, guild_id=guild_id, user_id=user_id, item_id=item_id, quantity=quantity)
        return
    held = await uow.session.scalar(
        select(ShopInventory.quantity).where(
            ShopInventory.guild_id == guild_id,
            ShopInventory.user_id == user_id,
            ShopInventory.item_id == item_id,
        )
    )
    if held:
        await take(
            uow, guild_id=guild_id, user_id=user_id, item_id=item_id, quantity=min(held, quantity)
        )


async def _bytes(
    uow: UnitOfWork,
    net: int,
    *,
    guild_id: str,
    user_id: str,
    account: int,
    config: EconomyConfig,
    why: str,
) -> None:
    shop = await system_account_id(uow, guild_id, shop_account(user_id))
    source, target = (shop, account) if net > 0 else (account, shop)
    try:
        await posting.post(
            uow,
            guild_id=guild_id,
            type=TransactionType.SHOP_ACTION,
            legs=transfer_legs(source=source, target=target, amount=abs(net), counts=False),
            reason=why[:200],
            payer=posting.Payer(account, config.currency_name, 0, verb="pay"),
        )
    except InsufficientBalance as refused:
        raise CannotAfford(
            available=int(refused.fields["available"]),
            needed=abs(net),
            currency=config.currency_name,
        ) from None
