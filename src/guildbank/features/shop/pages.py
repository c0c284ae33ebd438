"""Shop pages: the items with stock, sales and post status (live over SSE), create, an item's
page (edit, stock, deactivate, delete when never sold, its buyers with refunds) and a
member's inventory.

Refusals of a form show next to the field; those of a button come back as a flash.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from guildbank.core.errors import GuildbankError
from guildbank.core.ids import is_snowflake
from guildbank.features.guilds.permissions import Level
from guildbank.features.guilds.queries import get_config
from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import queries as shop
from guildbank.features.shop.forms import ItemForm
from guildbank.platform.uow import UnitOfWork, unit_of_work
from guildbank.web.forms import parse_whole
from guildbank.web.guard import Ctx, page

__all__ = ["routes"]

BUYERS_SIZE = 50
MAX_ID_DIGITS = 18
SCRIPT = Path(__file__).parent / "static" / "shop.js"
Write = Callable[[UnitOfWork], Awaitable[None]]


def _id(ctx: Ctx, name: str) -> int:
    """A row id in the URL; 0 (no row has it, so: not found) when it is not an id."""
    found = parse_whole(str(ctx.request.path_params[name]), max_digits=MAX_ID_DIGITS)
    return found if found is not None and found > 0 else 0


async def _list_page(ctx: Ctx, form: ItemForm, *, status: int = 200) -> Response:
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        items = await shop.list_items(uow, guild_id=ctx.guild_id, active_only=False)
        await uow.commit()
    return await ctx.render(
        "shop.html", nav="shop", items=items, config=config, form=form, live=True, status=status
    )


async def item_list(ctx: Ctx) -> Response:
    return await _list_page(ctx, ItemForm.blank())


async def create(ctx: Ctx) -> Response:
    assert ctx.form is not None
    form = ItemForm.from_form(ctx.form)
    values = form.validated()
    if values is None:
        return await _list_page(ctx, form, status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            view = await shop_admin.create_item(
                uow, guild_id=ctx.guild_id, values=values, actor_id=ctx.actor
            )
            await uow.commit()
    except GuildbankError as error:
        form.refused(error)
        return await _list_page(ctx, form, status=409 if error.kind == "conflict" else 400)
    return await ctx.redirect(
        f"{ctx.base}/shop/{view.id}", flash=("ok", f"Item {view.name} created.")
    )


async def _item_page(
    ctx: Ctx, item_id: int, form: ItemForm | None = None, *, status: int = 200
) -> Response:
    paging = ctx.paging(BUYERS_SIZE)
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        view = await shop.get_item(uow, guild_id=ctx.guild_id, item_id=item_id)
        buyers = await shop.item_buyers(
            uow,
            guild_id=ctx.guild_id,
            item_id=item_id,
            limit=paging.size,
            offset=paging.offset,
        )
        await uow.commit()
    await ctx.lookup_people([b.user_id for b in buyers])
    return await ctx.render(
        "shop_item.html",
        nav="shop",
        config=config,
        item=view,
        form=form or ItemForm.from_view(view),
        buyers=buyers,
        page=paging.number,
        pages=paging.count(view.sales_count),
        live=True,
        status=status,
    )


async def item(ctx: Ctx) -> Response:
    return await _item_page(ctx, _id(ctx, "item_id"))


async def edit(ctx: Ctx) -> Response:
    assert ctx.form is not None
    item_id = _id(ctx, "item_id")
    form = ItemForm.from_form(ctx.form)
    values = form.validated()
    if values is None:
        return await _item_page(ctx, item_id, form, status=400)
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await shop_admin.update_item(
                uow, guild_id=ctx.guild_id, item_id=item_id, changes=values, actor_id=ctx.actor
            )
            await uow.commit()
    except GuildbankError as error:
        form.refused(error)
        return await _item_page(ctx, item_id, form, status=409 if error.kind == "conflict" else 400)
    return await ctx.redirect(f"{ctx.base}/shop/{item_id}", flash=("ok", "Item saved."))


async def _button(ctx: Ctx, back: str, done: str, action: Write) -> Response:
    """Run a button's write; its refusal comes back as a flash."""
    try:
        async with unit_of_work(ctx.state.services) as uow:
            await action(uow)
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(back, flash=("ok", done))


async def stock(ctx: Ctx) -> Response:
    item_id = _id(ctx, "item_id")
    back = f"{ctx.base}/shop/{item_id}"
    operation = ctx.field("operation")
    raw = ctx.field("quantity")
    quantity = -1 if raw == "-1" else parse_whole(raw, max_digits=12)
    if operation not in {"set", "add", "subtract"} or quantity is None:
        return await ctx.redirect(
            back, flash=("error", "Enter a whole number of items (-1 to set unlimited).")
        )

    async def action(uow: UnitOfWork) -> None:
        await shop_admin.set_stock(
            uow,
            guild_id=ctx.guild_id,
            item_id=item_id,
            quantity=quantity,
            operation=operation,
            actor_id=ctx.actor,
        )

    return await _button(ctx, back, "Stock updated.", action)


async def set_active(ctx: Ctx) -> Response:
    item_id = _id(ctx, "item_id")
    back = f"{ctx.base}/shop/{item_id}"
    active = ctx.field("active")
    if active not in {"0", "1"}:
        return await ctx.redirect(back, flash=("error", "Choose to activate or deactivate."))

    async def action(uow: UnitOfWork) -> None:
        await shop_admin.update_item(
            uow,
            guild_id=ctx.guild_id,
            item_id=item_id,
            changes={"is_active": active == "1"},
            actor_id=ctx.actor,
        )

    done = "Item is for sale." if active == "1" else "Item deactivated: no longer for sale."
    return await _button(ctx, back, done, action)


async def remove(ctx: Ctx) -> Response:
    item_id = _id(ctx, "item_id")
    back = f"{ctx.base}/shop/{item_id}"
    if ctx.field("confirm") != "yes":
        return await ctx.redirect(back, flash=("error", "Tick the box to confirm the deletion."))
    try:
        async with unit_of_work(ctx.state.services) as uow:
            deleted = await shop_admin.delete_item(uow, guild_id=ctx.guild_id, item_id=item_id)
            await uow.commit()
    except GuildbankError as error:
        return await ctx.redirect(back, flash=("error", error.message))
    return await ctx.redirect(f"{ctx.base}/shop", flash=("ok", f"{deleted.name} deleted."))


async def refund(ctx: Ctx) -> Response:
    purchase_id = _id(ctx, "purchase_id")
    item_id = parse_whole(ctx.field("item_id"), max_digits=MAX_ID_DIGITS) or 0
    back = f"{ctx.base}/shop/{item_id}" if item_id else f"{ctx.base}/shop"

    async def action(uow: UnitOfWork) -> None:
        await shop_admin.refund_purchase(
            uow,
            guild_id=ctx.guild_id,
            purchase_id=purchase_id,
            actor_id=ctx.actor,
        )

    return await _button(ctx, back, f"Purchase #{purchase_id} refunded.", action)


async def inventory(ctx: Ctx) -> Response:
    """A member's inventory (the member page links here)."""
    user_id = str(ctx.request.path_params["user_id"])
    if not is_snowflake(user_id):
        user_id = "0"
    async with unit_of_work(ctx.state.services, read_only=True) as uow:
        config = await get_config(uow, ctx.guild_id)
        held = await shop.inventory(uow, guild_id=ctx.guild_id, user_id=user_id)
        await uow.commit()
    await ctx.lookup_people([user_id])
    return await ctx.render(
        "shop_inventory.html", nav="shop", config=config, inventory=held, user_id=user_id
    )


async def script(_: Request) -> Response:
    """The shop pages' script (the CSP takes scripts from this origin only)."""
    return FileResponse(SCRIPT, media_type="text/javascript")


routes: list[BaseRoute] = [
    Route("/shop.js", script, methods=["GET"], name="shop_script"),
    Route(
        "/guilds/{guild_id}/shop",
        page(item_list, level=Level.MODERATOR, feature="shop"),
        methods=["GET"],
        name="shop",
    ),
    Route("/guilds/{guild_id}/shop", page(create, feature="shop"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/shop/{item_id}",
        page(item, level=Level.MODERATOR, feature="shop"),
        methods=["GET"],
        name="shop_item",
    ),
    Route("/guilds/{guild_id}/shop/{item_id}", page(edit, feature="shop"), methods=["POST"]),
    Route("/guilds/{guild_id}/shop/{item_id}/stock", page(stock, feature="shop"), methods=["POST"]),
    Route(
        "/guilds/{guild_id}/shop/{item_id}/active",
        page(set_active, feature="shop"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/shop/{item_id}/delete", page(remove, feature="shop"), methods=["POST"]
    ),
    Route(
        "/guilds/{guild_id}/shop/purchases/{purchase_id}/refund",
        page(refund, feature="shop"),
        methods=["POST"],
    ),
    Route(
        "/guilds/{guild_id}/shop/members/{user_id}",
        page(inventory, level=Level.MODERATOR, feature="shop"),
        methods=["GET"],
        name="shop_inventory",
    ),
]
