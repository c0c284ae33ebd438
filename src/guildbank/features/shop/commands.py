"""``/shop``, ``/buy``, ``/inventory``, ``/use`` and ``/sell``: the shop in Discord.

The API decides (prices, stock, limits, requirements) and answers refusals in words the
member can act on ("Sold out", "You need @VIP to buy this"), shown as they come. Writes carry
an idempotency key made from the interaction's id, so a retried command or a double click on
Confirm never buys twice. Role changes of items go through the outbox, not from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import hikari
import lightbulb
import structlog
from lightbulb.components import Menu, MenuContext

from guildbank.bot.checks import IN_GUILDS, toggled_by
from guildbank.bot.errors import explain, explain_on_prompt, log_failure
from guildbank.bot.menus import Confirmation
from guildbank.bot.state import BotState
from guildbank.bot.transport import ApiError
from guildbank.features.guilds.render import money
from guildbank.features.shop.client import ShopClient
from guildbank.features.shop.render import (
    inventory_embed,
    item_label,
    page_count,
    purchase_embed,
    sell_embed,
    shop_embed,
    use_embed,
)
from guildbank.features.shop.rules import BUY_BUTTON_PREFIX, MAX_PURCHASE_QUANTITY
from guildbank.features.shop.schemas import InventoryEntryOut, ItemOut, PurchaseOut

__all__ = ["loader"]

MAX_CHOICES = 25
# How long the shop's page buttons stay live (then they are removed).
PAGER_TIMEOUT_SECONDS = 120.0
log = structlog.get_logger(__name__)
loader = lightbulb.Loader()


def _ids(ctx: lightbulb.Context) -> tuple[str, str]:
    return str(ctx.guild_id), str(ctx.user.id)


def _find_item(items: Sequence[ItemOut], value: str) -> ItemOut | None:
    """An autocomplete pick (the id) or a typed name, case-insensitively."""
    wanted = value.strip()
    by_id = next((i for i in items if str(i.id) == wanted), None)
    folded = wanted.casefold()
    return by_id or next((i for i in items if i.name.casefold() == folded), None)


def _find_held(entries: Sequence[InventoryEntryOut], value: str) -> InventoryEntryOut | None:
    wanted = value.strip()
    folded = wanted.casefold()
    return next((e for e in entries if str(e.item_id) == wanted), None) or next(
        (e for e in entries if e.name.casefold() == folded), None
    )


@lightbulb.di.with_di
async def item_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    """Items for sale whose name contains what was typed, with price and stock."""
    guild = str(ctx.interaction.guild_id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        items = await state.client(ShopClient).shop_items(guild)
        config = await state.config(guild)
    except ApiError as error:
        log.warning("shop autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    matches = [i for i in items if typed in i.name.casefold()][:MAX_CHOICES]
    await ctx.respond([(item_label(i, config), str(i.id)) for i in matches])


async def _held_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState, flag: str
) -> None:
    guild, user = str(ctx.interaction.guild_id), str(ctx.interaction.user.id)
    typed = str(ctx.focused.value or "").casefold()
    try:
        held = (await state.client(ShopClient).inventory(guild, user)).items
    except ApiError as error:
        log.warning("inventory autocomplete failed", guild_id=guild, error=repr(error))
        await ctx.respond([])
        return
    matches = [e for e in held if getattr(e, flag) and typed in e.name.casefold()]
    await ctx.respond([(f"{e.name} (×{e.quantity})", str(e.item_id)) for e in matches[:25]])


@lightbulb.di.with_di
async def usable_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    await _held_choices(ctx, state, "usable")


@lightbulb.di.with_di
async def sellable_choices(
    ctx: lightbulb.AutocompleteContext[str], state: BotState = lightbulb.di.INJECTED
) -> None:
    await _held_choices(ctx, state, "sellable")


class ShopPages(Menu):
    """Previous / Next through the shop's pages, for the member who asked."""

    def __init__(self, user_id: hikari.Snowflake, pages: int) -> None:
        self.user_id, self.pages, self.page = user_id, pages, 0
        self.back = self.add_interactive_button(
            hikari.ButtonStyle.SECONDARY, self._back, label="◀ Previous", disabled=True
        )
        self.ahead = self.add_interactive_button(
            hikari.ButtonStyle.SECONDARY, self._ahead, label="Next ▶", disabled=pages <= 1
        )
        self.show: list[hikari.Embed] = []

    async def predicate(self, ctx: MenuContext) -> bool:
        if ctx.user.id != self.user_id:
            await ctx.respond("Use /shop to browse for yourself.", ephemeral=True)
            return False
        return True

    async def _turn(self, ctx: MenuContext, step: int) -> None:
        self.page = min(max(self.page + step, 0), self.pages - 1)
        self.back.disabled = self.page == 0
        self.ahead.disabled = self.page >= self.pages - 1
        await ctx.respond(embed=self.show[self.page], edit=True, rebuild_menu=True)

    async def _back(self, ctx: MenuContext) -> None:
        await self._turn(ctx, -1)

    async def _ahead(self, ctx: MenuContext) -> None:
        await self._turn(ctx, 1)


@loader.command
class Shop(lightbulb.SlashCommand, name="shop", description="What is for sale", contexts=IN_GUILDS):
    category = lightbulb.string("category", "Only this category", default=None)

    @lightbulb.invoke
    async def invoke(
        self, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        guild = str(ctx.guild_id)
        items = await state.client(ShopClient).shop_items(guild, category=self.category)
        config = await state.config(guild)
        pages = page_count(items)
        embeds = [shop_embed(items, config, page=p, category=self.category) for p in range(pages)]
        if pages == 1:
            await ctx.respond(embed=embeds[0])
            return
        menu = ShopPages(ctx.user.id, pages)
        menu.show = embeds
        message = await ctx.respond(embed=embeds[0], components=menu)
        try:
            await menu.attach(client, timeout=PAGER_TIMEOUT_SECONDS)
        except TimeoutError:
            await ctx.edit_response(message, components=[])


@loader.command
class Buy(lightbulb.SlashCommand, name="buy", description="Buy an item", contexts=IN_GUILDS):
    item = lightbulb.string("item", "What to buy", autocomplete=item_choices)
    quantity = lightbulb.integer(
        "quantity", "How many", default=1, min_value=1, max_value=MAX_PURCHASE_QUANTITY
    )

    @lightbulb.invoke
    async def invoke(
        self, ctx: lightbulb.Context, state: BotState, client: lightbulb.Client
    ) -> None:
        guild, _ = _ids(ctx)
        shop = state.client(ShopClient)
        item = _find_item(await shop.shop_items(guild), self.item)
        if item is None:
            await ctx.respond(f"There is no item called {self.item!r} for sale.", ephemeral=True)
            return
        config = await state.config(guild)
        total = item.price * self.quantity
        if total < config.confirm_threshold:
            result = await _buy(ctx, state, item, self.quantity)
            await ctx.respond(embed=purchase_embed(result, config))
            return
        menu = Confirmation(
            ctx.user.id,
            confirm_label="Buy",
            refusal="Only the member who asked can confirm this purchase.",
            not_done="nothing was bought",
        )
        message = await ctx.respond(
            f"Buy {self.quantity} × **{item.name}** for {money(total, config)}?",
            components=menu,
            ephemeral=True,
        )
        pressed = await menu.wait_for_confirm(client, ctx, message)
        if pressed is None:
            return
        try:
            result = await _buy(ctx, state, item, self.quantity)
        except ApiError as error:
            await explain_on_prompt(pressed, error, "buy (confirmed)")
            return
        await pressed.respond("", embed=purchase_embed(result, config), edit=True, components=[])


async def _buy(
    ctx: lightbulb.Context, state: BotState, item: ItemOut, quantity: int
) -> PurchaseOut:
    guild, user = _ids(ctx)
    roles = [str(r) for r in ctx.member.role_ids] if ctx.member is not None else []
    return await state.client(ShopClient).buy(
        guild,
        item.id,
        user,
        quantity=quantity,
        role_ids=roles,
        idempotency_key=f"shop-buy:{ctx.interaction.id}",
    )


@loader.command
class Inventory(
    lightbulb.SlashCommand,
    name="inventory",
    description="What you (or a member) hold",
    contexts=IN_GUILDS,
):
    member = lightbulb.user("member", "Whose inventory (yours when empty)", default=None)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        whose = self.member
        target = str(whose.id) if whose is not None else user
        inventory = await state.client(ShopClient).inventory(guild, target)
        label = "You" if whose is None or str(whose.id) == user else whose.mention
        await ctx.respond(embed=inventory_embed(inventory, label, await state.config(guild)))


@loader.command
class Use(lightbulb.SlashCommand, name="use", description="Use an item", contexts=IN_GUILDS):
    item = lightbulb.string("item", "Which item", autocomplete=usable_choices)

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        shop = state.client(ShopClient)
        entry = _find_held((await shop.inventory(guild, user)).items, self.item)
        if entry is None:
            await ctx.respond(f"You don't have {self.item!r}.", ephemeral=True)
            return
        result = await shop.use_item(
            guild, user, entry.item_id, idempotency_key=f"shop-use:{ctx.interaction.id}"
        )
        await ctx.respond(embed=use_embed(result, await state.config(guild)))


@loader.command
class Sell(
    lightbulb.SlashCommand, name="sell", description="Sell an item back", contexts=IN_GUILDS
):
    item = lightbulb.string("item", "Which item", autocomplete=sellable_choices)
    quantity = lightbulb.integer(
        "quantity", "How many", default=1, min_value=1, max_value=MAX_PURCHASE_QUANTITY
    )

    @lightbulb.invoke
    async def invoke(self, ctx: lightbulb.Context, state: BotState) -> None:
        guild, user = _ids(ctx)
        shop = state.client(ShopClient)
        entry = _find_held((await shop.inventory(guild, user)).items, self.item)
        if entry is None:
            await ctx.respond(f"You don't have {self.item!r}.", ephemeral=True)
            return
        result = await shop.sell_item(
            guild,
            user,
            entry.item_id,
            quantity=self.quantity,
            idempotency_key=f"shop-sell:{ctx.interaction.id}",
        )
        await ctx.respond(embed=sell_embed(result, await state.config(guild)))


@loader.listener(hikari.InteractionCreateEvent)
async def on_buy_button(
    event: hikari.InteractionCreateEvent, state: BotState = lightbulb.di.INJECTED
) -> None:
    """A press of the Buy button (custom id ``shop.buy:<item id>``) on an item's shop post:
    buys one, answered to the member alone. The press is the member's confirmation."""
    interaction = event.interaction
    if not isinstance(interaction, hikari.ComponentInteraction):
        return
    if not interaction.custom_id.startswith(BUY_BUTTON_PREFIX):
        return
    raw = interaction.custom_id.removeprefix(BUY_BUTTON_PREFIX)
    if interaction.guild_id is None or not raw.isascii() or not raw.isdigit():
        return
    guild, user = str(interaction.guild_id), str(interaction.user.id)
    member = interaction.member
    roles = [str(r) for r in member.role_ids] if member is not None else []
    ephemeral = hikari.MessageFlag.EPHEMERAL
    respond = interaction.create_initial_response
    try:
        config = await state.config(guild)
        if not config.features.get("shop", True):
            await respond(
                hikari.ResponseType.MESSAGE_CREATE,
                "The shop feature is disabled on this server.",
                flags=ephemeral,
            )
            return
        result = await state.client(ShopClient).buy(
            guild,
            int(raw),
            user,
            role_ids=roles,
            idempotency_key=f"shop-buy:{interaction.id}",
        )
    except ApiError as error:
        log_failure(error, "shop buy button")
        await respond(hikari.ResponseType.MESSAGE_CREATE, explain(error), flags=ephemeral)
        return
    await respond(
        hikari.ResponseType.MESSAGE_CREATE, embed=purchase_embed(result, config), flags=ephemeral
    )


# Each answers "disabled on this server" while the guild has the shop off.
toggled_by("shop", "shop", "buy", "inventory", "use", "sell")
