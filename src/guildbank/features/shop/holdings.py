"""Changing what a member holds: one conditional statement each, never read-modify-write.

Taking refuses (returns None) when the member holds fewer than asked, so two uses racing
on a member's last item consume it once.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from guildbank.platform.models.shop import ShopInventory
from guildbank.platform.uow import UnitOfWork

__all__ = ["give", "take"]


async def give(uow: UnitOfWork, *, guild_id: str, user_id: str, item_id: int, quantity: int) -> int:
    """Add ``quantity`` of the item to the member's inventory; returns what they hold now.

    One upsert: a first item opens the row, later ones add to it.
    """
    module = postgresql if uow.services.dialect == "postgresql" else sqlite
    statement = module.insert(ShopInventory).values(
        guild_id=guild_id,
        user_id=user_id,
        item_id=item_id,
        quantity=quantity,
        updated_at=uow.now,
    )
    held = (
        await uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=["guild_id", "user_id", "item_id"],
                set_={
                    "quantity": ShopInventory.quantity + statement.excluded.quantity,
                    "updated_at": statement.excluded.updated_at,
                },
            ).returning(ShopInventory.quantity)
        )
    ).scalar_one()
    return int(held)


async def take(
    uow: UnitOfWork, *, guild_id: str, user_id: str, item_id: int, quantity: int
) -> int | None:
    """Remove ``quantity`` if the member holds that many: what remains, else None."""
    left = (
        await uow.session.execute(
            update(ShopInventory)
            .where(
                ShopInventory.guild_id == guild_id,
                ShopInventory.user_id == user_id,
                ShopInventory.item_id == item_id,
                ShopInventory.quantity >= quantity,
            )
            .values(quantity=ShopInventory.quantity - quantity, updated_at=uow.now)
            .returning(ShopInventory.quantity)
        )
    ).scalar_one_or_none()
    return None if left is None else int(left)
