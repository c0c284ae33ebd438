"""Each active item's post in the guild's shop channel, kept in step through the outbox.

The post is the outbox message of key ``shop.item:<id>``: a change of price, stock or state
enqueues the newest embed (coalescing with a job not yet run), the worker edits the message
in place and recreates it if someone deleted it. An inactive or expired item's post is
deleted. Without a shop channel nothing is posted. The post carries a Buy button (custom id
``shop.buy:<id>``, answered by the bot's listener in ``commands.py``), greyed out while the
item is sold out.
"""

from __future__ import annotations

from typing import Any

from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.shop.rules import BUY_BUTTON_PREFIX, UNLIMITED, is_expired, item_key
from guildbank.outbox.service import enqueue_message
from guildbank.platform.clock import as_utc
from guildbank.platform.models.shop import ShopItem
from guildbank.platform.uow import UnitOfWork

__all__ = ["buy_row", "item_embed", "remove_post", "sync_post"]

SHOP_COLOR = 0x2ECC71
SOLD_OUT_COLOR = 0x95A5A6
SUCCESS_STYLE = 3  # Discord's green button


def _stock_text(stock: int) -> str:
    if stock == UNLIMITED:
        return "Unlimited"
    return "Sold out" if stock == 0 else f"{stock} left"


def item_embed(item: ShopItem, config: EconomyConfig) -> dict[str, Any]:
    """The item as a Discord embed (the API's JSON shape)."""
    title = f"{item.emoji} {item.name}" if item.emoji else item.name
    fields = [
        {
            "name": "Price",
            "value": f"{item.price} {config.currency_name} {config.currency_emoji}".strip(),
            "inline": True,
        },
        {"name": "Stock", "value": _stock_text(item.stock), "inline": True},
    ]
    if item.category:
        fields.append({"name": "Category", "value": item.category, "inline": True})
    if item.max_per_member is not None:
        fields.append(
            {"name": "Limit", "value": f"{item.max_per_member} per member", "inline": True}
        )
    embed: dict[str, Any] = {
        "title": title,
        "color": SOLD_OUT_COLOR if item.stock == 0 else SHOP_COLOR,
        "fields": fields,
        "footer": {"text": f"Item #{item.id} · press Buy, or /buy {item.name}"[:2048]},
    }
    if item.description:
        embed["description"] = item.description
    if item.expires_at is not None:
        embed["timestamp"] = as_utc(item.expires_at).isoformat()
    return embed


def buy_row(item: ShopItem) -> dict[str, Any]:
    """The post's row with the Buy button (buys one; disabled while sold out)."""
    button = {
        "type": 2,
        "style": SUCCESS_STYLE,
        "custom_id": f"{BUY_BUTTON_PREFIX}{item.id}",
        "label": "Buy",
        "disabled": item.stock == 0,
    }
    return {"type": 1, "components": [button]}


async def sync_post(uow: UnitOfWork, item: ShopItem, config: EconomyConfig) -> None:
    """Ask for the item's post as it should now be (or its removal)."""
    channel = config.shop_channel_id
    if channel is None:
        return
    expires_at = None if item.expires_at is None else as_utc(item.expires_at)
    if item.is_active and not is_expired(expires_at, uow.now):
        await enqueue_message(
            uow,
            guild_id=item.guild_id,
            channel_id=channel,
            embeds=[item_embed(item, config)],
            key=item_key(item.id),
            components=[buy_row(item)],
        )
    else:
        await remove_post(uow, item, config)


async def remove_post(uow: UnitOfWork, item: ShopItem, config: EconomyConfig) -> None:
    if config.shop_channel_id is not None:
        await enqueue_message(
            uow,
            guild_id=item.guild_id,
            channel_id=config.shop_channel_id,
            key=item_key(item.id),
            delete=True,
        )
