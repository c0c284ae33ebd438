"""What the shop commands show: the shop in pages, purchases, inventories, use and sell-back.

Prices, stock and refusals come from the API; nothing here re-implements a rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import hikari

from guildbank.bot.style import BLUE, GOLD, GREEN, GREY
from guildbank.features.guilds.render import money
from guildbank.features.guilds.schemas import ConfigOut
from guildbank.features.shop.schemas import (
    InventoryOut,
    ItemOut,
    PurchaseOut,
    SellOut,
    UseOut,
)

__all__ = [
    "PAGE_SIZE",
    "inventory_embed",
    "item_label",
    "page_count",
    "purchase_embed",
    "sell_embed",
    "shop_embed",
    "stock_text",
    "use_embed",
]

PAGE_SIZE = 6
LABEL_LENGTH = 100


def _title(item: ItemOut) -> str:
    return f"{item.emoji} {item.name}" if item.emoji else item.name


def stock_text(stock: int) -> str:
    if stock < 0:
        return "unlimited"
    return "sold out" if stock == 0 else f"{stock} left"


def item_label(item: ItemOut, config: ConfigOut) -> str:
    """Plain text (autocomplete choices): name, price and stock."""
    label = f"{_title(item)} — {item.price:,} {config.currency_name}, {stock_text(item.stock)}"
    return label[:LABEL_LENGTH]


def page_count(items: Sequence[ItemOut]) -> int:
    return max(1, -(-len(items) // PAGE_SIZE))


def shop_embed(
    items: Sequence[ItemOut], config: ConfigOut, *, page: int = 0, category: str | None = None
) -> hikari.Embed:
    """One page of the shop: each item with its price, stock and what it says about itself."""
    title = "🛒 Shop" + (f" — {category}" if category else "")
    embed = hikari.Embed(title=title, color=GREEN)
    if not items:
        embed.description = "Nothing for sale right now."
        return embed
    for item in items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        lines = [f"{money(item.price, config)} · {stock_text(item.stock)}"]
        if item.description:
            lines.append(item.description[:200])
        if item.max_per_member is not None:
            lines.append(f"Limit {item.max_per_member} per member")
        embed.add_field(_title(item), "\n".join(lines))
    pages = page_count(items)
    embed.set_footer(f"Page {page + 1}/{pages} · /buy item [quantity]")
    return embed


def _effects(embed: hikari.Embed, messages: Sequence[str], added: Sequence[str]) -> None:
    if messages:
        embed.add_field("Message", "\n".join(messages)[:1024])
    if added:
        embed.add_field("Roles", " ".join(f"<@&{r}>" for r in added))


def purchase_embed(result: PurchaseOut, config: ConfigOut) -> hikari.Embed:
    item = result.item
    paid = money(result.total, config) if result.total else "nothing"
    embed = hikari.Embed(
        title=f"You bought {result.quantity} × {_title(item)}",
        description=f"You paid {paid}; your balance is {money(result.balance, config)}. "
        f"You now hold {result.held}.",
        color=GOLD,
    )
    _effects(embed, result.messages, result.roles_added)
    return embed


def inventory_embed(inventory: InventoryOut, whose: str, config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(title="🎒 Inventory", color=BLUE)
    if not inventory.items:
        embed.description = f"{whose} hold(s) nothing yet: see /shop."
        return embed
    lines = []
    for entry in inventory.items:
        name = f"{entry.emoji} {entry.name}" if entry.emoji else entry.name
        notes = [n for n, on in (("usable", entry.usable), ("expired", entry.is_expired)) if on]
        if entry.sellable:
            notes.append(f"sells for {entry.sell_value:,} {config.currency_name}")
        suffix = f" ({', '.join(notes)})" if notes else ""
        lines.append(f"**{entry.quantity}** × {name}{suffix}")
    embed.description = f"{whose}:\n" + "\n".join(lines)
    return embed


def use_embed(result: UseOut, config: ConfigOut) -> hikari.Embed:
    embed = hikari.Embed(
        title=f"You used {result.name}",
        description=f"{result.remaining} left.",
        color=GREEN,
    )
    if result.bytes_change:
        verb = "received" if result.bytes_change > 0 else "paid"
        embed.add_field(
            "Balance",
            f"You {verb} {money(abs(result.bytes_change), config)}; "
            f"balance {money(result.balance, config)}",
        )
    _effects(embed, result.messages, result.roles_added)
    return embed


def sell_embed(result: SellOut, config: ConfigOut) -> hikari.Embed:
    return hikari.Embed(
        title=f"You sold {result.quantity} × {result.name}",
        description=f"You received {money(result.amount, config)}; your balance is "
        f"{money(result.balance, config)}. {result.remaining} left.",
        color=GREY,
    )
