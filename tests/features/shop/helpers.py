"""Shop test helpers: items, purchases and reads through the real services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import queries as shop
from guildbank.features.shop import service as shop_service
from guildbank.features.shop.schemas import ItemCreate, ItemOut, PurchaseOut
from guildbank.ledger import integrity
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.models.shop import ShopItem, ShopPurchase
from guildbank.platform.uow import Services, unit_of_work


def role(n: int) -> str:
    return str(500000000000000000 + n)


async def make_item(services: Services, guild_id: str, name: str, **fields: Any) -> ItemOut:
    """An item created as the API would (fields validated by ItemCreate)."""
    body = ItemCreate.model_validate({"name": name, "price": fields.pop("price", 100), **fields})
    values = body.values()
    if body.expires_at is not None:
        values["expires_at"] = body.expires_at
    async with unit_of_work(services) as uow:
        view = await shop_admin.create_item(uow, guild_id=guild_id, values=values)
        await uow.commit()
    return view


async def buy(
    services: Services, guild_id: str, user_id: str, item_id: int, quantity: int = 1, **kw: Any
) -> PurchaseOut:
    async with unit_of_work(services) as uow:
        result = await shop_service.purchase(
            uow, guild_id=guild_id, user_id=user_id, item_id=item_id, quantity=quantity, **kw
        )
        await uow.commit()
    return result


async def item_row(services: Services, item_id: int) -> tuple[int, int]:
    """(stock, sales_count) as committed."""
    async with unit_of_work(services, read_only=True) as uow:
        row = (
            await uow.session.execute(
                select(ShopItem.stock, ShopItem.sales_count).where(ShopItem.id == item_id)
            )
        ).one()
    return int(row[0]), int(row[1])


async def held(services: Services, guild_id: str, user_id: str, item_id: int) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return await shop.held_quantity(uow, guild_id=guild_id, user_id=user_id, item_id=item_id)


async def purchases(services: Services) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(ShopPurchase))).scalar_one()
        )


async def jobs(services: Services, guild_id: str) -> list[OutboxJob]:
    async with unit_of_work(services, read_only=True) as uow:
        return list(
            (
                await uow.session.execute(
                    select(OutboxJob).where(OutboxJob.guild_id == guild_id).order_by(OutboxJob.id)
                )
            )
            .scalars()
            .all()
        )


async def integrity_ok(services: Services, guild_id: str) -> bool:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.problems == [], report.problems
    return report.ok
