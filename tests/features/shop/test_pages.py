"""The shop pages: list with stock, sales and post status, create, edit, stock, deactivate,
delete, buyers with refunds, a member's inventory; fields' errors next to them, button
refusals as flashes, nothing changed by a refused form. Both backends."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from guildbank.features.shop import queries as shop
from guildbank.features.shop.schemas import ItemOut
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID
from tests.factories import db_snapshot, fund, member
from tests.features.shop.helpers import buy, held, item_row, make_item
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"
ALICE = member(1)
NEW = {
    "name": "Cookie",
    "price": "100",
    "stock": "5",
    "category": "Food",
    "emoji": "🍪",
    "description": "Crunchy",
    "max_per_member": "2",
    "sell_percent": "50",
    "requirements": "[]",
    "requirement_mode": "all",
    "purchase_actions": "[]",
    "use_actions": '[{"type": "reply", "message": "Yum"}]',
    "is_active": "1",
    "usable": "1",
}


async def _post(client: httpx.AsyncClient, path: str, data: Mapping[str, str]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/shop")
    return await client.post(path, data={**data, "csrf_token": token})


async def _all(services: Services) -> list[ItemOut]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await shop.list_items(uow, guild_id=GUILD_ID, active_only=False)
        await uow.commit()
    return rows


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error" role="alert">([^<]+)<', html)
    assert found is not None, f"no error shown for {field_id}"
    return found.group(1)


async def test_the_list_shows_stock_sales_and_status(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    cookie = await make_item(services, guild, "Cookie", price=100, stock=3, emoji="🍪")
    closed = await make_item(services, guild, "Closed", price=5, is_active=False)
    await fund(services, guild, ALICE, 500)
    await buy(services, guild, ALICE, cookie.id)
    page = await admin.get(f"{G}/shop")
    assert page.status_code == 200
    html = page.text
    assert f'<a href="{G}/shop" aria-current="page">Shop</a>' in html
    assert re.findall(r'<tr data-item="(\d+)"', html) == [str(closed.id), str(cookie.id)]
    row = html.split(f'data-item="{cookie.id}"')[1].split("</tr>")[0]
    assert f'data-item-stock="{cookie.id}">2<' in row
    assert f'data-item-sales="{cookie.id}">1<' in row
    assert "for sale" in row
    assert "badge inactive" in html.split(f'data-item="{closed.id}"')[1].split("</tr>")[0]
    assert "/admin/shop.js" in html
    script = await admin.get("/admin/shop.js")
    assert script.status_code == 200
    assert "shop.stock_changed" in script.text


async def test_create_an_item(admin: httpx.AsyncClient, services: Services, guild: str) -> None:
    response = await _post(admin, f"{G}/shop", NEW)
    assert response.status_code == 303, response.text[:800]
    [created] = await _all(services)
    assert response.headers["location"] == f"{G}/shop/{created.id}"
    assert (created.name, created.price, created.stock, created.category) == (
        "Cookie",
        100,
        5,
        "Food",
    )
    assert (created.usable, created.sellable, created.max_per_member) == (True, False, 2)
    assert created.use_actions == [{"type": "reply", "message": "Yum"}]
    shown = await admin.get(response.headers["location"])
    assert "Item Cookie created." in shown.text
    assert 'value="Cookie"' in shown.text


async def test_create_shows_what_to_fix(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await db_snapshot(services)
    bad = {
        **NEW,
        "name": " ",
        "price": "-1",
        "stock": "x",
        "use_actions": "not json",
        "sell_percent": "101",
    }
    response = await _post(admin, f"{G}/shop", bad)
    assert response.status_code == 400
    html = response.text
    assert "nothing was created" in html
    assert _field_error(html, "n-name") == "This cannot be empty."
    assert _field_error(html, "n-price") == "Must be at least 0."
    assert _field_error(html, "n-stock") == "Enter a whole number."
    assert _field_error(html, "n-use_actions").startswith("Enter a JSON list")
    assert _field_error(html, "n-sell_percent") == "Must be at most 100."
    assert await _all(services) == []
    assert await db_snapshot(services) == before
    await make_item(services, guild, "Cookie", price=1)
    taken = await _post(admin, f"{G}/shop", {**NEW, "name": "COOKIE"})
    assert taken.status_code == 409
    assert _field_error(taken.text, "n-name") == "An item named Cookie already exists."


async def test_edit_stock_deactivate_and_delete(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    item = await make_item(services, guild, "Lamp", price=5)
    path = f"{G}/shop/{item.id}"
    saved = await _post(admin, path, {**NEW, "name": "Lamp", "price": "7", "stock": "-1"})
    assert saved.status_code == 303, saved.text[:800]
    [lamp] = await _all(services)
    assert (lamp.price, lamp.category) == (7, "Food")
    stocked = await _post(admin, f"{path}/stock", {"operation": "set", "quantity": "4"})
    assert stocked.status_code == 303
    assert await item_row(services, item.id) == (4, 0)
    refused = await _post(admin, f"{path}/stock", {"operation": "subtract", "quantity": "9"})
    assert refused.status_code == 303
    assert "must stay between 0" in (await admin.get(path)).text
    assert await item_row(services, item.id) == (4, 0)
    off = await _post(admin, f"{path}/active", {"active": "0"})
    assert off.status_code == 303
    assert not (await _all(services))[0].is_active
    gone = await _post(admin, f"{path}/delete", {"confirm": "yes"})
    assert gone.status_code == 303
    assert gone.headers["location"] == f"{G}/shop"
    assert await _all(services) == []


async def test_buyers_refund_and_inventory(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    item = await make_item(services, guild, "Crown", price=200, stock=2)
    await fund(services, guild, ALICE, 500)
    bought = await buy(services, guild, ALICE, item.id)
    page = await admin.get(f"{G}/shop/{item.id}")
    assert f'data-purchase="{bought.purchase_id}"' in page.text
    assert "Delete item" not in page.text  # sold: deactivate instead
    inventory = await admin.get(f"{G}/shop/members/{ALICE}")
    assert inventory.status_code == 200
    assert f'data-item="{item.id}"' in inventory.text
    refunded = await _post(
        admin,
        f"{G}/shop/purchases/{bought.purchase_id}/refund",
        {"item_id": str(item.id)},
    )
    assert refunded.status_code == 303
    assert refunded.headers["location"] == f"{G}/shop/{item.id}"
    assert (
        f"Purchase #{bought.purchase_id} refunded." in (await admin.get(f"{G}/shop/{item.id}")).text
    )
    assert await held(services, guild, ALICE, item.id) == 0
    assert await item_row(services, item.id) == (2, 0)
    again = await _post(
        admin,
        f"{G}/shop/purchases/{bought.purchase_id}/refund",
        {"item_id": str(item.id)},
    )
    assert again.status_code == 303
    assert "already refunded" in (await admin.get(f"{G}/shop/{item.id}")).text


async def test_unknown_items_are_not_found(admin: httpx.AsyncClient, guild: str) -> None:
    assert (await admin.get(f"{G}/shop/999")).status_code == 404
    assert (await admin.get(f"{G}/shop/abc")).status_code == 404
