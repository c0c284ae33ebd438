"""The dashboard in a real browser (Debian's Chromium through Playwright) against a live server:
logins, permissions, settings, adjustments, CSV export, live updates, CSRF, screenshots."""

from __future__ import annotations

import csv
import io

import hikari
import pytest
from playwright.async_api import BrowserContext, Page, expect

from guildbank.features.economy import queries as reports
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import queries as squads
from guildbank.features.squads import service as squads_service
from guildbank.platform.uow import unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, FakeClock
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally, populate
from tests.factories import bytes_url, db_snapshot, member, send

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"
B = f"/admin/guilds/{OTHER_GUILD_ID}"
MANAGE_GUILD = int(hikari.Permissions.MANAGE_GUILD)


async def test_logged_out_visitors_are_sent_to_the_login(page: Page, site: Site) -> None:
    for path in ("/admin/", f"{A}/settings", f"{A}/transactions"):
        await page.goto(site.at(path))
        assert page.url.startswith(site.at("/admin/login?next="))
        await expect(page.locator("input[name=password]")).to_be_visible()


async def test_local_admin_tour_with_screenshots(
    page: Page, context: BrowserContext, site: Site, clock: FakeClock
) -> None:
    people = await populate(site, clock)
    site.discord.add_role(int(GUILD_ID), "Red team", position=3)
    blue_role = site.discord.add_role(int(GUILD_ID), "Blue team", position=2)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.goto(site.at("/admin/login"))
    await page.screenshot(path=SCREENSHOTS / "login.png")
    await log_in_locally(page, site)
    await expect(page.locator(".server-name")).to_have_text(["Guild A", "Guild B"])
    await page.screenshot(path=SCREENSHOTS / "servers.png", full_page=True)

    await page.click("text=Guild A")
    await page.wait_for_url(site.at(A))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    await expect(page.locator("svg.chart rect.bar")).to_have_count(30)
    await expect(page.locator(".leaders li").first).to_contain_text("alice")
    await page.screenshot(path=SCREENSHOTS / "overview.png", full_page=True)

    await page.click("nav.tabs >> text=Settings")
    selected = await page.locator("select[name=reward_role]").evaluate_all(
        "els => els.map(e => e.options[e.selectedIndex].text)"
    )
    assert selected[:2] == ["@Regular", "@Whale"]  # roles by name
    await page.screenshot(path=SCREENSHOTS / "settings.png", full_page=True)

    await page.click("nav.tabs >> text=Members")
    await expect(page.locator("table.members tbody tr")).to_have_count(len(people))
    await expect(page.locator("table.members tbody tr").first).to_contain_text("alice")
    await page.screenshot(path=SCREENSHOTS / "members.png", full_page=True)

    await page.click("nav.tabs >> text=Squads")
    await page.fill("#n-name", "Red team")
    await page.select_option("#n-role_id", label="@Red team")
    await page.fill("#n-emoji", "🔴")
    await page.fill("#n-max_members", "8")
    await page.click("text=Create squad")
    await expect(page.locator(".flash.ok")).to_have_text("Squad Red team created.")
    await _squads_with_members(site, people, str(blue_role.id))
    await page.click("nav.tabs >> text=Squads")
    rows = page.locator("table.squads tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(1)).to_contain_text("Red team")
    await expect(rows.nth(1)).to_contain_text("5 / 8")
    await expect(rows.nth(0)).to_contain_text("inactive")
    await page.screenshot(path=SCREENSHOTS / "squads.png", full_page=True)
    await rows.nth(1).locator("a").click()
    await expect(page.locator("table.roster tbody tr")).to_have_count(5)
    await expect(page.locator("table.roster tbody tr").first).to_contain_text("alice")

    await page.click("nav.tabs >> text=Transactions")
    await expect(page.locator("table.transactions tbody tr")).to_have_count(50)
    await page.screenshot(path=SCREENSHOTS / "transactions.png")

    phone = await context.browser.new_context(  # type: ignore[union-attr]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    try:
        mobile = await phone.new_page()
        await log_in_locally(mobile, site)
        await mobile.goto(site.at(A))
        await expect(mobile.locator("svg.chart rect.bar")).to_have_count(30)
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the overview scrolls sideways on a phone ({width}px)"
        await mobile.screenshot(path=SCREENSHOTS / "overview-phone.png", full_page=True)
        await mobile.goto(site.at(f"{A}/squads"))
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the squads page scrolls sideways on a phone ({width}px)"
    finally:
        await phone.close()


async def _squads_with_members(site: Site, people: list[str], blue_role: str) -> None:
    """Five of the people in Red team (made in the browser), three in a closed Blue team."""
    async with unit_of_work(site.services) as uow:
        [red] = await squads.list_squads(uow, guild_id=GUILD_ID)
        blue = await squad_admin.create_squad(
            uow, guild_id=GUILD_ID, role_id=blue_role, name="Blue team", emoji="🔵"
        )
        for person in people[:5]:
            await squads_service.join_squad(uow, guild_id=GUILD_ID, user_id=person, squad_id=red.id)
        for person in people[5:8]:
            await squads_service.join_squad(
                uow, guild_id=GUILD_ID, user_id=person, squad_id=blue.id
            )
        await squad_admin.update_squad(
            uow, guild_id=GUILD_ID, squad_id=blue.id, changes={"is_active": False}
        )
        await uow.commit()


async def test_a_discord_manager_cannot_see_or_act_on_another_server(
    page: Page, context: BrowserContext, site: Site
) -> None:
    mara = site.discord.add_member(int(GUILD_ID), username="mara", permissions=MANAGE_GUILD)
    site.discord.add_member(int(OTHER_GUILD_ID), mara.id)
    await send(site.services, OTHER_GUILD_ID, member(1), member(2), 5)
    site.discord.oauth_login_as(mara.id)

    await page.goto(site.at("/admin/login"))
    await page.click("text=Log in with Discord")
    await page.wait_for_url(site.at("/admin/"))
    await expect(page.locator(".server-name")).to_have_text(["Guild A"])
    await expect(page.locator(".who")).to_contain_text("mara")

    for path in (B, f"{B}/settings", f"{B}/members", f"{B}/transactions", f"{B}/integrity"):
        response = await page.goto(site.at(path))
        assert response is not None
        assert response.status == 404, path
        await expect(page.locator(".error-message")).to_contain_text("do not manage")

    await page.goto(site.at(f"{A}/settings"))
    token = await page.locator("input[name=csrf_token]").first.input_value()
    before = await db_snapshot(site.services)
    forged = [
        (f"{B}/settings", {"daily_amount": "1000"}),
        (f"{B}/members/{member(1)}/adjust", {"action": "set", "amount": "0", "reason": "x"}),
        (f"{B}/transactions/3/reverse", {"reason": "x", "confirm": "yes"}),
    ]
    for path, form in forged:
        refused = await context.request.post(site.at(path), form={**form, "csrf_token": token})
        assert refused.status == 404, path
    assert await db_snapshot(site.services) == before


async def test_changing_the_daily_amount_shows_in_the_api(page: Page, site: Site) -> None:
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/settings"))
    await page.fill("input[name=daily_amount]", "-3")
    await page.click("text=Save settings")
    await expect(page.locator("#daily_amount-error")).to_have_text("Must be at least 0.")
    assert (await site.api.get(bytes_url(GUILD_ID, "/config"))).json()["daily_amount"] == 10

    await page.fill("input[name=daily_amount]", "35")
    await page.click("[data-add-row=streak-rows]")
    await page.locator("input[name=streak_days]").last.fill("100")
    await page.locator("input[name=streak_multiplier]").last.fill("32")
    await page.click("text=Save settings")
    await expect(page.locator(".flash.ok")).to_have_text("Settings saved.")
    config = (await site.api.get(bytes_url(GUILD_ID, "/config"))).json()
    assert config["daily_amount"] == 35
    assert config["streak_bonuses"] == {"8": 2, "16": 4, "32": 8, "64": 16, "100": 32}


async def test_adjusting_a_balance_writes_a_ledger_row_and_reversal_undoes_it(
    page: Page, site: Site
) -> None:
    await send(site.services, GUILD_ID, member(1), member(2), 10)
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/members"))
    await page.click(f"a[href='{A}/members/{member(1)}']")
    await page.select_option("select[name=action]", "add")
    await page.fill("input[name=amount]", "250")
    await page.fill("input[name=reason]", "tournament prize")
    await page.click("form.row-form button[type=submit]")
    await expect(page.locator(".flash.ok")).to_contain_text("Balance is now 340")
    async with unit_of_work(site.services, read_only=True) as uow:
        [row] = await reports.list_transactions(uow, guild_id=GUILD_ID, type="admin_adjust")
    assert (row.amount, row.reason) == (250, "tournament prize")

    await page.click(f"a[href='{A}/transactions/{row.id}']")
    await page.fill("input[name=reason]", "typo")
    await page.click("button.danger")  # the box is not ticked: the browser refuses
    assert page.url == site.at(f"{A}/transactions/{row.id}")
    await page.check("input[name=confirm]")
    await page.click("button.danger")
    await expect(page.locator(".flash.ok")).to_contain_text(f"#{row.id} was reversed")
    balance = (await site.api.get(bytes_url(GUILD_ID, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 90


async def test_csv_export_downloads_the_filtered_log(page: Page, site: Site) -> None:
    await send(site.services, GUILD_ID, member(1), member(2), 10, reason="rent, june")
    await send(site.services, GUILD_ID, member(2), member(3), 4)
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/transactions?type=transfer"))
    async with page.expect_download() as download_info:
        await page.click("text=Export CSV")
    download = await download_info.value
    assert download.suggested_filename == f"guildbank-{GUILD_ID}-transactions.csv"
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(r["type"], r["amount"], r["from_user_ids"], r["reason"]) for r in rows] == [
        ("transfer", "4", member(2), ""),
        ("transfer", "10", member(1), "rent, june"),
    ]


@pytest.mark.parametrize("path", [A, f"{A}/transactions"])
async def test_a_transfer_through_the_api_appears_live(page: Page, site: Site, path: str) -> None:
    await send(site.services, GUILD_ID, member(1), member(2), 10)
    await log_in_locally(page, site)
    await page.goto(site.at(path))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    rows = page.locator("tbody[data-live-rows] tr")
    await expect(rows).to_have_count(3)
    response = await site.api.post(
        bytes_url(GUILD_ID, "/transactions"),
        json={"giver_id": member(2), "receiver_id": member(1), "amount": 37, "reason": "live!"},
    )
    transaction_id = response.json()["id"]
    fresh = page.locator(f"tbody[data-live-rows] tr[data-transaction-id='{transaction_id}']")
    await expect(fresh).to_be_visible(timeout=1000)
    await expect(fresh).to_contain_text("37")
    await expect(fresh).to_contain_text("live!")
    await expect(rows.first).to_have_attribute("data-transaction-id", str(transaction_id))
    # Another server's transfer does not show up here.
    await site.api.post(
        bytes_url(OTHER_GUILD_ID, "/transactions"),
        json={"giver_id": member(2), "receiver_id": member(1), "amount": 5},
    )
    await page.wait_for_timeout(300)
    await expect(rows).to_have_count(4)


async def test_posts_without_the_csrf_token_are_refused(
    page: Page, context: BrowserContext, site: Site
) -> None:
    await log_in_locally(page, site)
    before = await db_snapshot(site.services)
    response = await context.request.post(
        site.at(f"{A}/settings"), form={"daily_amount": "999", "currency_name": "x"}
    )
    assert response.status == 403
    assert "CSRF" in await response.text()
    assert await db_snapshot(site.services) == before
    await page.goto(site.at(f"{A}/settings"))
    await expect(page.locator("input[name=daily_amount]")).to_have_value("10")
