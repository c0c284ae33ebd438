"""The shop under ``/api/guilds/{guild_id}``: ``/shop`` (items, stock, purchases, refunds)
and ``/inventory/{user_id}`` (what a member holds, use, sell back).

Every write goes through the HTTP kit's ``write``: one unit of work, ``Idempotency-Key``
honoured, errors in the one shape. An item id is digits (``{item_id:int}``), so
``/shop/purchases/…`` is never read as an item.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from guildbank.api.deps import (
    Admin,
    Caller,
    GuildId,
    UserId,
    Writer,
    authorize,
    parse_body,
    read,
)
from guildbank.api.idempotency import idempotent_request, write, write_recording
from guildbank.api.lean import lean_route
from guildbank.core.ids import MAX_SNOWFLAKE
from guildbank.features.guilds.gate import check_feature, feature_on
from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import queries as shop
from guildbank.features.shop import service as shop_service
from guildbank.features.shop.rules import MAX_CATEGORY_LENGTH
from guildbank.features.shop.schemas import (
    BuyerOut,
    BuyIn,
    InventoryOut,
    ItemCreate,
    ItemDeleteOut,
    ItemOut,
    ItemUpdate,
    PurchaseOut,
    RefundIn,
    RefundOut,
    SellIn,
    SellOut,
    StockIn,
    UseIn,
    UseOut,
)
from guildbank.platform.uow import UnitOfWork

__all__ = ["BUY_ROUTE", "router"]

router = APIRouter(prefix="/guilds/{guild_id}", tags=["shop"], dependencies=[feature_on("shop")])
ItemId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE, description="The item's id")]
PurchaseId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE, description="The purchase's id")]

_BUY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`insufficient_balance`, `roles_unknown`, `invalid_quantity`"},
    404: {"description": "Unknown item (`shop_item_not_found`)"},
    409: {
        "description": "`sold_out`, `max_per_member`, `item_inactive`, `item_expired`, "
        "`requirement_not_met`"
    },
    429: {"description": "Too many balance changes for this member (`rate_limited`)"},
}


@router.get("/shop", response_model=list[ItemOut])
async def list_items(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    category: Annotated[str | None, Query(max_length=MAX_CATEGORY_LENGTH)] = None,
    active_only: bool = True,
    include_out_of_stock: bool = True,
) -> Response:
    """The guild's items by category and name (active, unexpired ones unless asked)."""

    async def action(uow: UnitOfWork) -> list[ItemOut]:
        return await shop.list_items(
            uow,
            guild_id=guild_id,
            category=category,
            active_only=active_only,
            include_out_of_stock=include_out_of_stock,
        )

    return await read(request, action)


@router.post(
    "/shop",
    response_model=ItemOut,
    dependencies=[Admin],
    status_code=201,
    responses={
        400: {"description": "An item or role named by requirements or actions is unknown"},
        409: {"description": "`item_name_taken`"},
    },
)
async def create_item(request: Request, guild_id: GuildId, body: ItemCreate) -> Response:
    """Create an item; with a shop channel set, its post follows through the outbox."""
    values = body.values()
    if body.expires_at is not None:
        values["expires_at"] = body.expires_at

    async def action(uow: UnitOfWork) -> ItemOut:
        return await shop_admin.create_item(
            uow, guild_id=guild_id, values=values, actor_id=body.actor_id
        )

    return await write(request, guild_id, action, status_code=201)


@router.get("/shop/{item_id:int}", response_model=ItemOut)
async def get_item(request: Request, guild_id: GuildId, item_id: ItemId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> ItemOut:
        return await shop.get_item(uow, guild_id=guild_id, item_id=item_id)

    return await read(request, action)


@router.put(
    "/shop/{item_id:int}",
    response_model=ItemOut,
    dependencies=[Admin],
    responses={
        404: {"description": "Unknown item (`shop_item_not_found`)"},
        409: {"description": "`item_name_taken`"},
    },
)
async def update_item(
    request: Request, guild_id: GuildId, item_id: ItemId, body: ItemUpdate
) -> Response:
    """Change some fields; the others keep their values."""

    async def action(uow: UnitOfWork) -> ItemOut:
        return await shop_admin.update_item(
            uow, guild_id=guild_id, item_id=item_id, changes=body.changes(), actor_id=body.actor_id
        )

    return await write(request, guild_id, action)


@router.delete(
    "/shop/{item_id:int}",
    response_model=ItemDeleteOut,
    dependencies=[Admin],
    responses={
        404: {"description": "Unknown item (`shop_item_not_found`)"},
        409: {"description": "The item was sold or is held (`item_has_sales`): deactivate it"},
    },
)
async def delete_item(request: Request, guild_id: GuildId, item_id: ItemId) -> Response:
    """Delete an item never sold; its shop post is removed."""

    async def action(uow: UnitOfWork) -> ItemDeleteOut:
        return await shop_admin.delete_item(uow, guild_id=guild_id, item_id=item_id)

    return await write(request, guild_id, action)


@router.put(
    "/shop/{item_id:int}/stock",
    response_model=ItemOut,
    dependencies=[Admin],
    responses={400: {"description": "The stock would leave 0..10**9 (`invalid_stock`)"}},
)
async def set_stock(
    request: Request, guild_id: GuildId, item_id: ItemId, body: StockIn
) -> Response:
    """Set, add to or subtract from the stock (``set`` to -1: unlimited)."""

    async def action(uow: UnitOfWork) -> ItemOut:
        return await shop_admin.set_stock(
            uow,
            guild_id=guild_id,
            item_id=item_id,
            quantity=body.quantity,
            operation=body.operation,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action)


async def buy_item(request: Request, guild_id: GuildId, item_id: ItemId) -> Response:
    """Buy: the member pays the shop, the stock drops, the inventory grows, in one transaction.

    The busiest shop route, so it is a ``LeanRoute`` (as the transfer): the key, the feature
    toggle, the item id and the body are checked here rather than through FastAPI's
    dependency machinery (same rules, same errors).
    """
    await authorize(request, "write")
    await check_feature(request, guild_id, "shop")
    if not 1 <= item_id <= MAX_SNOWFLAKE:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal" if item_id > 0 else "greater_than_equal",
                    "loc": ("path", "item_id"),
                    "msg": f"Input should be between 1 and {MAX_SNOWFLAKE}",
                    "input": str(item_id),
                }
            ]
        )
    raw = await request.body()
    body = parse_body(BuyIn, raw, request.headers.get("content-type"))
    # The purchase records its Idempotency-Key itself: in the same statement on PostgreSQL.
    keyed = idempotent_request(request, guild_id, raw)

    async def action(uow: UnitOfWork) -> PurchaseOut:
        return await shop_service.purchase(
            uow,
            guild_id=guild_id,
            user_id=body.user_id,
            item_id=item_id,
            quantity=body.quantity,
            role_ids=body.role_ids,
            keyed=keyed,
        )

    return await write_recording(request, keyed, action, model=PurchaseOut)


BUY_ROUTE = lean_route(
    f"{router.prefix}/shop/{{item_id:int}}/buy",
    buy_item,
    methods=["POST"],
    tags=["shop"],
    response_model=PurchaseOut,
    responses=_BUY_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BuyIn.model_json_schema()}},
        }
    },
)


@router.get("/shop/{item_id:int}/buyers", response_model=list[BuyerOut])
async def item_buyers(
    request: Request,
    guild_id: GuildId,
    item_id: ItemId,
    _: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_SNOWFLAKE)] = 0,
) -> Response:
    """The item's purchases, newest first."""

    async def action(uow: UnitOfWork) -> list[BuyerOut]:
        return await shop.item_buyers(
            uow, guild_id=guild_id, item_id=item_id, limit=limit, offset=offset
        )

    return await read(request, action)


@router.post(
    "/shop/purchases/{purchase_id:int}/refund",
    response_model=RefundOut,
    dependencies=[Admin],
    responses={
        404: {"description": "Unknown purchase (`shop_purchase_not_found`)"},
        409: {"description": "`already_refunded`, or `refund_items_not_held`"},
    },
)
async def refund_purchase(
    request: Request, guild_id: GuildId, purchase_id: PurchaseId, body: RefundIn | None = None
) -> Response:
    """Reverse a purchase: bytes back, items out of the inventory, stock restored."""
    actor_id = None if body is None else body.actor_id

    async def action(uow: UnitOfWork) -> RefundOut:
        return await shop_admin.refund_purchase(
            uow, guild_id=guild_id, purchase_id=purchase_id, actor_id=actor_id
        )

    return await write(request, guild_id, action)


@router.get("/inventory/{user_id}", response_model=InventoryOut)
async def get_inventory(
    request: Request, guild_id: GuildId, user_id: UserId, _: Caller
) -> Response:
    """What the member holds."""

    async def action(uow: UnitOfWork) -> InventoryOut:
        return await shop.inventory(uow, guild_id=guild_id, user_id=user_id)

    return await read(request, action)


@router.post(
    "/inventory/{user_id}/use",
    response_model=UseOut,
    dependencies=[Writer],
    responses={
        400: {"description": "`insufficient_balance` for a `remove_bytes` action"},
        404: {"description": "Unknown item (`shop_item_not_found`)"},
        409: {"description": "`item_not_usable`, `item_not_owned` or `item_expired`"},
    },
)
async def use_item(request: Request, guild_id: GuildId, user_id: UserId, body: UseIn) -> Response:
    """Consume one of a usable item and run its use actions."""

    async def action(uow: UnitOfWork) -> UseOut:
        return await shop_service.use_item(
            uow, guild_id=guild_id, user_id=user_id, item_id=body.item_id
        )

    return await write(request, guild_id, action)


@router.post(
    "/inventory/{user_id}/sell",
    response_model=SellOut,
    dependencies=[Writer],
    responses={409: {"description": "`item_not_sellable` or `item_not_owned`"}},
)
async def sell_item(request: Request, guild_id: GuildId, user_id: UserId, body: SellIn) -> Response:
    """Sell items back to the shop for the item's sell share of the price."""

    async def action(uow: UnitOfWork) -> SellOut:
        return await shop_service.sell_item(
            uow, guild_id=guild_id, user_id=user_id, item_id=body.item_id, quantity=body.quantity
        )

    return await write(request, guild_id, action)
