"""The shop over HTTP (SPEC §6, issue 12) on both backends: seed scenarios, bad input,
idempotency, refunds, inventory, use and sell-back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.conftest import make_api_key
from tests.factories import configure, db_snapshot, error_of, fund, guild_money, member
from tests.features.shop.helpers import held, item_row, purchases

ALICE, BOB = member(1), member(2)


def url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}{path}"


async def create(api: httpx.AsyncClient, guild: str, name: str, **fields: Any) -> Any:
    body = {"name": name, "price": 100, **fields}
    response = await api.post(url(guild, "/shop"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def buy(api: httpx.AsyncClient, guild: str, item_id: int, user: str, **kw: Any) -> Any:
    headers = kw.pop("headers", None)
    return await api.post(
        url(guild, f"/shop/{item_id}/buy"), json={"user_id": user, **kw}, headers=headers
    )


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_buy_a_cookie_with_150(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    cookie = await create(api, guild, "Cookie", emoji="🍪", category="Food")
    assert cookie["stock"] == -1
    await fund(services, guild, ALICE, 150)
    bought = ok(await buy(api, guild, cookie["id"], ALICE))
    assert (bought["balance"], bought["held"], bought["item"]["stock"]) == (50, 1, -1)
    inventory = ok(await api.get(url(guild, f"/inventory/{ALICE}")))
    assert [(i["name"], i["quantity"]) for i in inventory["items"]] == [("Cookie", 1)]
    listed = ok(await api.get(url(guild, "/shop"), params={"category": "food"}))
    assert [(i["name"], i["sales_count"]) for i in listed] == [("Cookie", 1)]
    assert ok(await api.get(url(guild, "/shop"), params={"category": "tools"})) == []
    shown = ok(await api.get(url(guild, f"/shop/{cookie['id']}")))
    assert shown["sales_count"] == 1
    buyers = ok(await api.get(url(guild, f"/shop/{cookie['id']}/buyers")))
    assert [(b["user_id"], b["quantity"], b["total"]) for b in buyers] == [(ALICE, 1, 100)]
    report = ok(await api.get(url(guild, "/bytes/integrity")))
    assert report["ok"], report


@pytest.mark.parametrize("quantity", [0, -1, 10**9, 1.5, "2", True, None])
async def test_bad_quantity_is_422_and_changes_nothing(
    api: httpx.AsyncClient, guild: str, services: Services, quantity: Any
) -> None:
    item = await create(api, guild, "Gem", price=1, stock=5)
    await fund(services, guild, ALICE, 100)
    before = await db_snapshot(services)
    response = await buy(api, guild, item["id"], ALICE, quantity=quantity)
    error_of(response, 422, "validation_error")
    assert await db_snapshot(services) == before
    assert await item_row(services, item["id"]) == (5, 0)
    assert await held(services, guild, ALICE, item["id"]) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/shop", {"name": "", "price": 1}),
        ("POST", "/shop", {"name": "X", "price": -1}),
        ("POST", "/shop", {"name": "X", "price": 1, "stock": -2}),
        ("POST", "/shop", {"name": "X", "price": 1, "sell_percent": 101}),
        ("POST", "/shop", {"name": "X", "price": 1, "colour": "red"}),
        ("POST", "/shop", {"name": "X\u0000", "price": 1}),
        ("POST", "/shop", {"name": "X", "price": 1, "requirements": [{"type": "vip"}]}),
        ("POST", "/shop", {"name": "X", "price": 1, "use_actions": [{"type": "add_bytes"}]}),
        ("POST", "/shop", {"name": "X" * 101, "price": 1}),
        ("POST", "/shop", {"name": "X", "price": 1, "description": "d" * 1001}),
        ("POST", "/shop/1/buy", {"user_id": "abc"}),
        ("PUT", "/shop/1/stock", {"quantity": 1, "operation": "multiply"}),
        ("PUT", "/shop/1", {"name": None}),
        ("POST", f"/inventory/{member(1)}/use", {"item_id": "1"}),
        ("POST", f"/inventory/{member(1)}/sell", {"item_id": 1, "quantity": 0}),
    ],
)
async def test_bad_input_is_422(
    api: httpx.AsyncClient,
    guild: str,
    services: Services,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    before = await db_snapshot(services)
    error_of(await api.request(method, url(guild, path), json=body), 422, "validation_error")
    assert await db_snapshot(services) == before


async def test_refusals_are_specific_and_change_nothing(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    cake = await create(api, guild, "Cake", price=100, stock=1, max_per_member=1)
    await fund(services, guild, ALICE, 40)
    before = await db_snapshot(services)
    body = error_of(await buy(api, guild, cake["id"], ALICE), 400, "insufficient_balance")
    assert body["detail"] == "You have 40 bytes; this costs 100."
    assert await db_snapshot(services) == before
    await fund(services, guild, BOB, 500)
    ok(await buy(api, guild, cake["id"], BOB))
    body = error_of(await buy(api, guild, cake["id"], ALICE), 409, "sold_out")
    assert body["detail"] == "Sold out"
    error_of(await buy(api, guild, 12345, ALICE), 404, "shop_item_not_found")
    error_of(await api.delete(url(guild, f"/shop/{cake['id']}")), 409, "item_has_sales")


async def test_purchases_are_idempotent(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    item = await create(api, guild, "Ticket", price=10, stock=10)
    await fund(services, guild, ALICE, 100)
    headers = {"Idempotency-Key": "buy-ticket-1"}
    first = await buy(api, guild, item["id"], ALICE, quantity=2, headers=headers)
    again = await buy(api, guild, item["id"], ALICE, quantity=2, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert await item_row(services, item["id"]) == (8, 2)
    assert (await guild_money(services, guild)).balance(ALICE) == 80
    assert await purchases(services) == 1
    other = await buy(api, guild, item["id"], ALICE, quantity=3, headers=headers)
    error_of(other, 409, "idempotency_key_reused")


async def test_item_crud_and_stock(api: httpx.AsyncClient, guild: str) -> None:
    item = await create(api, guild, "Lamp", price=5)
    error_of(
        await api.post(url(guild, "/shop"), json={"name": "LAMP", "price": 1}),
        409,
        "item_name_taken",
    )
    edited = ok(
        await api.put(
            url(guild, f"/shop/{item['id']}"),
            json={"price": 7, "description": "Bright", "max_per_member": 2},
        )
    )
    assert (edited["price"], edited["description"], edited["max_per_member"]) == (7, "Bright", 2)
    stocked = ok(await api.put(url(guild, f"/shop/{item['id']}/stock"), json={"quantity": 4}))
    assert stocked["stock"] == 4
    added = ok(
        await api.put(
            url(guild, f"/shop/{item['id']}/stock"), json={"quantity": 3, "operation": "add"}
        )
    )
    assert added["stock"] == 7
    error_of(
        await api.put(
            url(guild, f"/shop/{item['id']}/stock"),
            json={"quantity": 8, "operation": "subtract"},
        ),
        400,
        "invalid_stock",
    )
    ok(await api.put(url(guild, f"/shop/{item['id']}/stock"), json={"quantity": 0}))
    assert ok(await api.get(url(guild, "/shop"), params={"include_out_of_stock": False})) == []
    deleted = ok(await api.delete(url(guild, f"/shop/{item['id']}")))
    assert deleted["name"] == "Lamp"
    error_of(await api.get(url(guild, f"/shop/{item['id']}")), 404, "shop_item_not_found")


async def test_use_sell_and_refund_over_http(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, ALICE, 1000)
    potion = await create(
        api,
        guild,
        "Potion",
        price=100,
        usable=True,
        sellable=True,
        sell_percent=40,
        use_actions=[{"type": "reply", "message": "Glug!"}, {"type": "add_bytes", "amount": 5}],
    )
    bought = ok(await buy(api, guild, potion["id"], ALICE, quantity=3))
    used = ok(await api.post(url(guild, f"/inventory/{ALICE}/use"), json={"item_id": potion["id"]}))
    assert (used["messages"], used["remaining"], used["balance"]) == (["Glug!"], 2, 705)
    sold = ok(
        await api.post(url(guild, f"/inventory/{ALICE}/sell"), json={"item_id": potion["id"]})
    )
    assert (sold["amount"], sold["remaining"], sold["balance"]) == (40, 1, 745)
    refused = await api.post(url(guild, f"/shop/purchases/{bought['purchase_id']}/refund"), json={})
    error_of(refused, 409, "refund_items_not_held")
    second = ok(await buy(api, guild, potion["id"], ALICE))
    refund = ok(  # the body is optional
        await api.post(url(guild, f"/shop/purchases/{second['purchase_id']}/refund"))
    )
    assert (refund["amount"], refund["balance"]) == (100, 745)
    error_of(
        await api.post(url(guild, f"/shop/purchases/{second['purchase_id']}/refund"), json={}),
        409,
        "already_refunded",
    )
    report = ok(await api.get(url(guild, "/bytes/integrity")))
    assert report["ok"], report


async def test_scopes(api: httpx.AsyncClient, guild: str, services: Services, app: Any) -> None:
    item = await create(api, guild, "Pin", price=1)
    token = await make_api_key(services, scopes=("read", "write"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as writer:
        error_of(await writer.post(url(guild, "/shop"), json={"name": "N", "price": 1}), 403)
        error_of(
            await writer.put(url(guild, f"/shop/{item['id']}/stock"), json={"quantity": 1}), 403
        )
        ok(await writer.post(url(guild, f"/shop/{item['id']}/buy"), json={"user_id": ALICE}))


async def test_the_shop_can_be_turned_off(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await configure(services, guild, features={"shop": False})
    error_of(await api.get(url(guild, "/shop")), 409, "feature_disabled")
