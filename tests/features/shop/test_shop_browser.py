"""The shop page in a real browser (Chromium via Playwright, live uvicorn server): an item
created in the form, bought through the API, and its stock and sales update live over SSE
without a reload. Leaves a screenshot for the README."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.conftest import GUILD_ID
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally
from tests.factories import member

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"
API = f"/api/guilds/{GUILD_ID}"
ALICE = member(1)


async def test_create_buy_and_watch_the_stock_live(page: Page, site: Site) -> None:
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/shop"))
    form = page.locator("#new-item form")
    await form.locator("input[name=name]").fill("Golden ticket")
    await form.locator("input[name=price]").fill("30")
    await form.locator("input[name=stock]").fill("5")
    await form.locator("input[name=category]").fill("Events")
    await form.locator("input[name=emoji]").fill("🎫")
    await form.locator("button", has_text="Create item").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Item Golden ticket created.")
    item_id = page.url.rsplit("/", 1)[1]

    await page.goto(site.at(f"{A}/shop"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    stock = page.locator(f'td[data-item-stock="{item_id}"]')
    sales = page.locator(f'td[data-item-sales="{item_id}"]')
    await expect(stock).to_have_text("5")
    await expect(sales).to_have_text("0")

    bought = await site.api.post(
        f"{API}/shop/{item_id}/buy", json={"user_id": ALICE, "quantity": 2}
    )
    assert bought.status_code == 200, bought.text
    await expect(stock).to_have_text("3")  # live, no reload
    await expect(sales).to_have_text("2")
    for _ in range(3):
        response = await site.api.post(f"{API}/shop/{item_id}/buy", json={"user_id": ALICE})
        assert response.status_code in (200, 400), response.text  # 100 bytes buy three
    sold_out = await site.api.put(f"{API}/shop/{item_id}/stock", json={"quantity": 0})
    assert sold_out.status_code == 200, sold_out.text
    await expect(stock).to_have_text("sold out")
    await expect(page.locator("[data-shop-notice]")).to_be_hidden()  # the cells followed
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "shop.png"), full_page=True)
