"""Expired items lose their Discord post at expiry, not at their next change (both backends)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop.scheduler import ShopExpiryScheduler
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import configure
from tests.features.shop.helpers import jobs, make_item

CHANNEL = "600000000000000002"


async def deleted_keys(services: Services, guild: str) -> list[str]:
    return [j.payload["key"] for j in await jobs(services, guild) if j.kind == "message.delete"]


async def expired_events(services: Services) -> list[int]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(EventLogEntry.data)
                .where(EventLogEntry.name == "shop.item_changed")
                .order_by(EventLogEntry.id)
            )
        ).scalars()
        return [int(d["item_id"]) for d in rows if d["change"] == "expired"]


async def test_expiry_removes_the_post_once(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, shop_channel_id=CHANNEL)
    soon = (clock.now + timedelta(hours=1)).isoformat()
    later = (clock.now + timedelta(hours=5)).isoformat()
    fleeting = await make_item(services, guild, "Fleeting", price=5, expires_at=soon)
    lasting = await make_item(services, guild, "Lasting", price=5, expires_at=later)
    forever = await make_item(services, guild, "Forever", price=5)
    closed = await make_item(services, guild, "Closed", price=5, expires_at=soon)
    async with unit_of_work(services) as uow:
        await shop_admin.update_item(
            uow, guild_id=guild, item_id=closed.id, changes={"is_active": False}
        )
        await uow.commit()
    assert await deleted_keys(services, guild) == [f"shop.item:{closed.id}"]
    scheduler = ShopExpiryScheduler(services, owner="web-1")
    assert await scheduler.run_once() == []  # nothing is due yet
    clock.advance(hours=2)
    assert await scheduler.run_once() == [fleeting.id, closed.id]
    # The active item's post goes; the inactive one's went when it was deactivated.
    # (A removal may take the place of the post's job not yet run: compare as sets.)
    assert set(await deleted_keys(services, guild)) == {
        f"shop.item:{closed.id}",
        f"shop.item:{fleeting.id}",
    }
    assert await expired_events(services) == [fleeting.id, closed.id]
    assert await scheduler.run_once() == []  # handled once
    # Another process does not work while this one holds the lease.
    assert await ShopExpiryScheduler(services, owner="web-2").run_once() is None
    # Moved into the future, the item is posted again, and due again when that time comes.
    async with unit_of_work(services) as uow:
        await shop_admin.update_item(
            uow,
            guild_id=guild,
            item_id=fleeting.id,
            changes={"expires_at": clock.now + timedelta(hours=1)},
        )
        await uow.commit()
    clock.advance(hours=4)
    assert await scheduler.run_once() == [fleeting.id, lasting.id]
    assert await expired_events(services) == [fleeting.id, closed.id, fleeting.id, lasting.id]
    assert f"shop.item:{forever.id}" not in await deleted_keys(services, guild)


async def test_without_a_shop_channel_expiry_only_announces(
    services: Services, guild: str, clock: FakeClock
) -> None:
    soon = (clock.now + timedelta(minutes=30)).isoformat()
    item = await make_item(services, guild, "Snack", price=1, expires_at=soon)
    clock.advance(hours=1)
    assert await ShopExpiryScheduler(services).run_once() == [item.id]
    assert await deleted_keys(services, guild) == []
    assert await expired_events(services) == [item.id]
