"""Expiry of shop items: when an item's ``expires_at`` passes, its Discord post goes.

An expired item can be neither bought nor used from that moment (the services check the
time); what needs a pass is its post in the shop channel, which would otherwise keep its Buy
button until the item's next change. ``expire_items`` (run by ``scheduler.py``) finds the
items that expired after their last change (``updated_at < expires_at <= now``), asks for
their posts' removal through the outbox (``message.delete``, key ``shop.item:<id>``), marks
them changed (``updated_at``, so the next pass skips them) and announces each with
``shop.item_changed`` (``change``: ``expired``). No extra column: an edit that moves
``expires_at`` into the future makes the item due again when that time comes.
"""

from __future__ import annotations

from sqlalchemy import select

from guildbank.features.guilds.queries import get_config
from guildbank.features.shop.events import ItemChanged
from guildbank.features.shop.posts import remove_post
from guildbank.platform.models.shop import ShopItem
from guildbank.platform.uow import UnitOfWork

__all__ = ["BATCH", "expire_items"]

BATCH = 500


async def expire_items(uow: UnitOfWork, *, batch: int = BATCH) -> list[int]:
    """Handle up to ``batch`` items that expired since their last change; their ids."""
    due = (
        (
            await uow.session.execute(
                select(ShopItem)
                .where(
                    ShopItem.expires_at.is_not(None),
                    ShopItem.expires_at <= uow.now,
                    ShopItem.updated_at < ShopItem.expires_at,
                )
                .order_by(ShopItem.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for item in due:
        item.updated_at = uow.now
        if item.is_active:  # an inactive item's post went when it was deactivated
            await remove_post(uow, item, await get_config(uow, item.guild_id))
        uow.emit(
            ItemChanged(
                guild_id=item.guild_id,
                item_id=item.id,
                change="expired",
                fields=["is_expired"],
                actor_id=None,
            )
        )
    await uow.session.flush()
    return [item.id for item in due]
