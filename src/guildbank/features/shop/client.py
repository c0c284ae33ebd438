"""The shop API as the bot and integrators call it: items and their admin, buying,
inventories, use, sell-back and refunds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.features.shop.schemas import (
    BuyerOut,
    InventoryOut,
    ItemDeleteOut,
    ItemOut,
    PurchaseOut,
    RefundOut,
    SellOut,
    UseOut,
)

__all__ = ["ShopClient"]


class ShopClient(ApiTransport):
    """Typed shop methods; a mixin over the transport, combined in ``GuildbankClient``."""

    def _url(self, guild_id: str, path: str) -> str:
        return f"/api/guilds/{guild_id}{path}"

    async def shop_items(
        self,
        guild_id: str,
        *,
        category: str | None = None,
        active_only: bool = True,
        include_out_of_stock: bool = True,
    ) -> list[ItemOut]:
        params: dict[str, Any] = {
            "active_only": active_only,
            "include_out_of_stock": include_out_of_stock,
        }
        if category is not None:
            params["category"] = category
        return await self._list(ItemOut, "GET", self._url(guild_id, "/shop"), params=params)

    async def shop_item(self, guild_id: str, item_id: int) -> ItemOut:
        return await self._model(ItemOut, "GET", self._url(guild_id, f"/shop/{item_id}"))

    async def create_item(
        self, guild_id: str, fields: dict[str, Any], *, idempotency_key: str | None = None
    ) -> ItemOut:
        return await self._model(
            ItemOut,
            "POST",
            self._url(guild_id, "/shop"),
            json=fields,
            idempotency_key=idempotency_key,
        )

    async def update_item(
        self,
        guild_id: str,
        item_id: int,
        changes: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> ItemOut:
        return await self._model(
            ItemOut,
            "PUT",
            self._url(guild_id, f"/shop/{item_id}"),
            json=changes,
            idempotency_key=idempotency_key,
        )

    async def set_stock(
        self,
        guild_id: str,
        item_id: int,
        quantity: int,
        operation: str = "set",
        *,
        idempotency_key: str | None = None,
    ) -> ItemOut:
        return await self._model(
            ItemOut,
            "PUT",
            self._url(guild_id, f"/shop/{item_id}/stock"),
            json={"quantity": quantity, "operation": operation},
            idempotency_key=idempotency_key,
        )

    async def delete_item(
        self, guild_id: str, item_id: int, *, idempotency_key: str | None = None
    ) -> ItemDeleteOut:
        return await self._model(
            ItemDeleteOut,
            "DELETE",
            self._url(guild_id, f"/shop/{item_id}"),
            idempotency_key=idempotency_key,
        )

    async def buy(
        self,
        guild_id: str,
        item_id: int,
        user_id: str,
        *,
        quantity: int = 1,
        role_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> PurchaseOut:
        body: dict[str, Any] = {"user_id": user_id, "quantity": quantity}
        if role_ids is not None:
            body["role_ids"] = list(role_ids)
        return await self._model(
            PurchaseOut,
            "POST",
            self._url(guild_id, f"/shop/{item_id}/buy"),
            json=body,
            idempotency_key=idempotency_key,
        )

    async def item_buyers(self, guild_id: str, item_id: int, *, limit: int = 50) -> list[BuyerOut]:
        return await self._list(
            BuyerOut,
            "GET",
            self._url(guild_id, f"/shop/{item_id}/buyers"),
            params={"limit": limit},
        )

    async def refund_purchase(
        self,
        guild_id: str,
        purchase_id: int,
        *,
        actor_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> RefundOut:
        return await self._model(
            RefundOut,
            "POST",
            self._url(guild_id, f"/shop/purchases/{purchase_id}/refund"),
            json={"actor_id": actor_id} if actor_id else {},
            idempotency_key=idempotency_key,
        )

    async def inventory(self, guild_id: str, user_id: str) -> InventoryOut:
        return await self._model(InventoryOut, "GET", self._url(guild_id, f"/inventory/{user_id}"))

    async def use_item(
        self, guild_id: str, user_id: str, item_id: int, *, idempotency_key: str | None = None
    ) -> UseOut:
        return await self._model(
            UseOut,
            "POST",
            self._url(guild_id, f"/inventory/{user_id}/use"),
            json={"item_id": item_id},
            idempotency_key=idempotency_key,
        )

    async def sell_item(
        self,
        guild_id: str,
        user_id: str,
        item_id: int,
        *,
        quantity: int = 1,
        idempotency_key: str | None = None,
    ) -> SellOut:
        return await self._model(
            SellOut,
            "POST",
            self._url(guild_id, f"/inventory/{user_id}/sell"),
            json={"item_id": item_id, "quantity": quantity},
            idempotency_key=idempotency_key,
        )
