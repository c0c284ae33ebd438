"""The one-statement purchase (``features/shop/lean.py``) against the transactional path.

On PostgreSQL a plain purchase by a known member is one autocommitted statement; everything
it stores (the answer, the ledger transaction, the inventory, the purchase row, the events,
the key's record) must be what the transactional path stores. Whatever it does not handle
falls back, having written nothing, and is refused by name there. SQLite always falls back.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import lean
from guildbank.features.shop import service as shop_service
from guildbank.features.shop.errors import CannotAfford
from guildbank.features.shop.schemas import PurchaseOut
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.ledger import LedgerEntry, LedgerTransaction
from guildbank.platform.models.shop import ShopPurchase
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import configure, db_snapshot, error_of, fund, guild_money, member
from tests.features.shop.helpers import held, integrity_ok, item_row, make_item

ALICE, BOB = member(1), member(2)
CHANNEL = "700000000000000001"


async def lean_buy(
    services: Services, guild: str, user: str, item_id: int, quantity: int = 1
) -> PurchaseOut | None:
    async with unit_of_work(services) as uow:
        result = await lean.purchase_standalone(
            uow,
            guild_id=guild,
            user_id=user,
            item_id=item_id,
            quantity=quantity,
            limited_ok=True,
        )
        await uow.commit()
    return result


async def transactional_buy(
    services: Services, guild: str, user: str, item_id: int, quantity: int = 1
) -> PurchaseOut:
    """The same purchase forced onto the transactional path (the unit began already)."""
    async with unit_of_work(services) as uow:
        await uow.session.execute(select(1))
        assert uow.began
        result = await shop_service.purchase(
            uow, guild_id=guild, user_id=user, item_id=item_id, quantity=quantity
        )
        await uow.commit()
    return result


async def stored(services: Services, purchase_id: int) -> dict[str, Any]:
    """What a purchase left behind: its row, its ledger transaction and entries, its events."""
    async with unit_of_work(services, read_only=True) as uow:
        row = await uow.session.get(ShopPurchase, purchase_id)
        assert row is not None
        tx = await uow.session.get(LedgerTransaction, row.transaction_id)
        assert tx is not None
        entries = (
            await uow.session.execute(
                select(LedgerEntry.amount).where(LedgerEntry.transaction_id == tx.id)
            )
        ).scalars()
        events = (
            await uow.session.execute(
                select(EventLogEntry.name, EventLogEntry.data).order_by(EventLogEntry.id)
            )
        ).all()
    mine = [
        {k: v for k, v in data.items() if k not in ("purchase_id", "transaction_id", "user_id")}
        for name, data in events
        if name == "shop.purchase" and data.get("purchase_id") == purchase_id
    ]
    return {
        "row": (row.item_id, row.user_id, row.quantity, row.total),
        "tx": (tx.type, tx.amount, tx.reason, tx.actor_id),
        "entries": sorted(entries),
        "events": mine,
    }


def comparable(result: PurchaseOut) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    for key in ("purchase_id", "transaction_id", "balance", "held", "user_id"):
        data.pop(key)
    for key in ("updated_at", "sales_count", "stock"):
        data["item"].pop(key)
    return data


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_lean_purchase_stores_what_the_transactional_one_does(
    services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 1_000)
    await fund(services, guild, BOB, 1_000)
    for stock in (-1, 10):
        item = await make_item(
            services, guild, f"Cake {stock}", price=30, stock=stock, emoji="🍰", usable=True
        )
        fast = await lean_buy(services, guild, ALICE, item.id, 2)
        assert fast is not None
        slow = await transactional_buy(services, guild, BOB, item.id, 2)
        assert comparable(fast) == comparable(slow)
        assert (fast.held, slow.held) == (2, 2)
        fast_rows = await stored(services, fast.purchase_id)
        slow_rows = await stored(services, slow.purchase_id)
        assert fast_rows["tx"] == ("shop_purchase", 60, f"Bought 2 x {item.name}", ALICE)
        assert slow_rows["tx"] == ("shop_purchase", 60, f"Bought 2 x {item.name}", BOB)
        assert fast_rows["entries"] == slow_rows["entries"] == [-60, 60]
        assert fast_rows["row"][2:] == slow_rows["row"][2:] == (2, 60)
        assert fast_rows["events"] == slow_rows["events"]
        assert [e["total"] for e in fast_rows["events"]] == [60]
        if stock == -1:
            assert fast.item.stock == slow.item.stock == -1
        else:
            assert (fast.item.stock, slow.item.stock) == (8, 6)
            assert await item_row(services, item.id) == (6, 4)
    money = await guild_money(services, guild)
    assert money.balance(ALICE) == money.balance(BOB) == 1_000 - 120
    async with unit_of_work(services, read_only=True) as uow:
        names = (
            await uow.session.execute(
                select(EventLogEntry.name)
                .where(EventLogEntry.name.like("shop.%"), EventLogEntry.name != "shop.item_changed")
                .order_by(EventLogEntry.id)
            )
        ).scalars()
        # Unlimited: a purchase each; limited: the stock change, then the purchase (each path).
        assert list(names) == ["shop.purchase"] * 2 + ["shop.stock_changed", "shop.purchase"] * 2
    assert await integrity_ok(services, guild)


async def _set_stock(services: Services, guild: str, item_id: int, quantity: int) -> None:
    async with unit_of_work(services) as uow:
        await shop_admin.set_stock(
            uow, guild_id=guild, item_id=item_id, quantity=quantity, operation="set"
        )
        await uow.commit()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_stale_guess_of_the_items_stock_buys_once(services: Services, guild: str) -> None:
    """Two statements, one taking a stock and one only reading an unlimited item: the
    process's hint may be stale (the stock changed kind), and then the other one runs."""
    await fund(services, guild, ALICE, 1_000)
    item = await make_item(services, guild, "Scone", price=10)
    hints = services.caches[lean.ITEMS_WITH_STOCK]
    assert await lean_buy(services, guild, ALICE, item.id) is not None
    assert hints.get(item.id) is False
    await _set_stock(services, guild, item.id, 5)
    bought = await lean_buy(services, guild, ALICE, item.id, 2)
    assert bought is not None
    assert (bought.item.stock, bought.held, bought.item.sales_count) == (3, 3, 3)
    assert hints.get(item.id) is True
    await _set_stock(services, guild, item.id, -1)
    bought = await lean_buy(services, guild, ALICE, item.id)
    assert bought is not None
    assert (bought.item.stock, bought.held, bought.item.sales_count) == (-1, 4, 4)
    assert hints.get(item.id) is False
    assert await item_row(services, item.id) == (-1, 4)
    assert (await guild_money(services, guild)).balance(ALICE) == 1_000 - 40
    assert await integrity_ok(services, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_lean_path_leaves_what_it_does_not_handle(services: Services, guild: str) -> None:
    await fund(services, guild, ALICE, 50)
    plain = await make_item(services, guild, "Plain", price=10)
    cases = {
        "new member": (BOB, plain.id, 1),
        "overdraft": (ALICE, plain.id, 6),
        "unknown item": (ALICE, 987654, 1),
        "inactive": (
            ALICE,
            (await make_item(services, guild, "Off", price=1, is_active=False)).id,
            1,
        ),
        "free": (ALICE, (await make_item(services, guild, "Free", price=0)).id, 1),
        "limit": (
            ALICE,
            (await make_item(services, guild, "One", price=1, max_per_member=1)).id,
            1,
        ),
        "sold out": (ALICE, (await make_item(services, guild, "Gone", price=1, stock=0)).id, 1),
        "actions": (
            ALICE,
            (
                await make_item(
                    services,
                    guild,
                    "Chatty",
                    price=1,
                    purchase_actions=[{"type": "reply", "message": "hi"}],
                )
            ).id,
            1,
        ),
    }
    before = await db_snapshot(services)
    for name, (user, item_id, quantity) in cases.items():
        assert await lean_buy(services, guild, user, item_id, quantity) is None, name
    assert await db_snapshot(services) == before
    # The transactional path names the refusal; the new member is served there.
    with pytest.raises(CannotAfford):
        await transactional_buy(services, guild, ALICE, plain.id, 6)
    await fund(services, guild, BOB, 10)
    assert (await transactional_buy(services, guild, BOB, plain.id)).balance == 0
    # A limited item takes the transactional path while a shop channel wants its post.
    limited = await make_item(services, guild, "Limited", price=1, stock=5)
    await configure(services, guild, shop_channel_id=CHANNEL)
    async with unit_of_work(services) as uow:
        refused = await lean.purchase_standalone(
            uow, guild_id=guild, user_id=ALICE, item_id=limited.id, quantity=1, limited_ok=False
        )
    assert refused is None
    assert await integrity_ok(services, guild)


async def test_sqlite_always_takes_the_transactional_path(
    services: Services, guild: str, backend: str
) -> None:
    await fund(services, guild, ALICE, 50)
    item = await make_item(services, guild, "Plain", price=10)
    result = await lean_buy(services, guild, ALICE, item.id)
    if backend == "sqlite":
        assert result is None
    else:
        assert result is not None
        assert result.balance == 40
        assert await held(services, guild, ALICE, item.id) == 1


async def test_keyed_purchases_replay_the_same_bytes(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await fund(services, guild, ALICE, 100)
    item = await make_item(services, guild, "Ticket", price=10)
    path = f"/api/guilds/{guild}/shop/{item.id}/buy"
    headers = {"Idempotency-Key": "shop-buy:123"}
    first = await api.post(path, json={"user_id": ALICE, "quantity": 2}, headers=headers)
    again = await api.post(path, json={"user_id": ALICE, "quantity": 2}, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert first.json()["balance"] == 80
    assert (await guild_money(services, guild)).balance(ALICE) == 80
    reused = await api.post(path, json={"user_id": ALICE, "quantity": 3}, headers=headers)
    error_of(reused, 409, "idempotency_key_reused")
    # A refusal records nothing: the key still works once the member can pay.
    broke = {"Idempotency-Key": "shop-buy:124"}
    error_of(
        await api.post(path, json={"user_id": ALICE, "quantity": 9}, headers=broke),
        400,
        "insufficient_balance",
    )
    await fund(services, guild, ALICE, 1_000)
    later = await api.post(path, json={"user_id": ALICE, "quantity": 9}, headers=broke)
    assert later.status_code == 200, later.text
    assert await integrity_ok(services, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_twins_of_one_key_buy_once(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    """Ten copies of one keyed purchase at once: one purchase, ten identical answers."""
    await fund(services, guild, ALICE, 100)
    item = await make_item(services, guild, "Ticket", price=10, stock=50)
    path = f"/api/guilds/{guild}/shop/{item.id}/buy"
    gate = asyncio.Event()

    async def attempt() -> httpx.Response:
        await gate.wait()
        return await api.post(
            path, json={"user_id": ALICE}, headers={"Idempotency-Key": "shop-buy:twin"}
        )

    tasks = [asyncio.create_task(attempt()) for _ in range(10)]
    gate.set()
    responses = await asyncio.gather(*tasks)
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert await item_row(services, item.id) == (49, 1)
    assert (await guild_money(services, guild)).balance(ALICE) == 90
    assert await held(services, guild, ALICE, item.id) == 1
    assert await integrity_ok(services, guild)
