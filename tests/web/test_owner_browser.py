"""Issue 14 in a real browser (Debian's Chromium through Playwright, live server): a refused
form comes back as submitted, two tabs editing the same thing cannot silently overwrite each
other, admin actions name who did them, and the API docs load nothing from the internet."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, Request, expect

from guildbank.features.guilds.queries import get_config
from guildbank.features.squads import queries as squads
from guildbank.platform.uow import unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally, populate
from tests.factories import balance_view, db_snapshot, fund, member

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"
ALICE = member(1)


async def test_a_refused_remove_comes_back_as_remove_not_add(page: Page, site: Site) -> None:
    await fund(site.services, GUILD_ID, ALICE, 40)
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/members/{ALICE}"))
    before = await db_snapshot(site.services)
    await page.select_option("select[name=action]", "remove")
    await page.fill("input[name=amount]", "500")
    await page.fill("input[name=reason]", "fine for spam")
    await page.click("text=Apply")
    await expect(page.locator(".flash.error")).to_contain_text("insufficient")
    # The form is exactly as submitted: clicking Apply again cannot add money.
    await expect(page.locator("select[name=action]")).to_have_value("remove")
    await expect(page.locator("input[name=amount]")).to_have_value("500")
    await expect(page.locator("input[name=reason]")).to_have_value("fine for spam")
    await page.fill("input[name=amount]", "15")
    await page.click("text=Apply")
    await expect(page.locator(".flash.ok")).to_contain_text("change -15")
    assert (await balance_view(site.services, GUILD_ID, ALICE)).balance == 25
    assert before != await db_snapshot(site.services)


async def test_two_tabs_on_the_settings_the_later_save_is_refused(
    page: Page, context: BrowserContext, site: Site
) -> None:
    await log_in_locally(page, site)
    other = await context.new_page()
    await page.goto(site.at(f"{A}/settings"))
    await other.goto(site.at(f"{A}/settings"))

    await page.fill("#f-daily_amount", "25")
    await page.click("button:has-text('Save settings')")
    await expect(page.locator(".flash.ok")).to_have_text("Settings saved.")

    await other.fill("#f-currency_name", "coins")
    await other.click("button:has-text('Save settings')")
    await expect(other.locator(".flash.error").first).to_contain_text("changed since")
    changed = other.locator("table.changed-fields tbody tr")
    await expect(changed).to_have_count(2)  # the other tab's change, and this one's
    await expect(changed.filter(has_text="Daily amount")).to_contain_text("25")
    await expect(other.locator("#f-currency_name")).to_have_value("coins")  # nothing typed lost
    async with unit_of_work(site.services, read_only=True) as uow:
        config = await get_config(uow, GUILD_ID)
        await uow.commit()
    assert (config.daily_amount, config.currency_name) == (25, "bytes")  # nothing lost

    # Saving again, knowingly, applies this tab's values (the first tab's 25 was shown).
    await other.fill("#f-daily_amount", "25")
    await other.click("button:has-text('Save settings')")
    await expect(other.locator(".flash.ok")).to_have_text("Settings saved.")
    async with unit_of_work(site.services, read_only=True) as uow:
        config = await get_config(uow, GUILD_ID)
        await uow.commit()
    assert (config.daily_amount, config.currency_name) == (25, "coins")


async def test_two_tabs_on_a_squad_the_later_save_is_refused(
    page: Page, context: BrowserContext, site: Site
) -> None:
    red = site.discord.add_role(int(GUILD_ID), "Red team", position=3)
    made = await site.api.post(
        f"/api/guilds/{GUILD_ID}/squads", json={"role_id": str(red.id), "name": "Red"}
    )
    assert made.status_code == 201, made.text
    squad_id = made.json()["id"]
    await log_in_locally(page, site)
    other = await context.new_page()
    await page.goto(site.at(f"{A}/squads/{squad_id}"))
    await other.goto(site.at(f"{A}/squads/{squad_id}"))

    await page.fill("#e-switch_cost", "80")
    await page.click("text=Save squad")
    await expect(page.locator(".flash.ok")).to_have_text("Squad saved.")
    await other.fill("#e-name", "Crimson")
    await other.click("text=Save squad")
    await expect(other.locator(".flash.error").first).to_contain_text("changed since")
    row = other.locator("table.changed-fields tbody tr", has_text="Switch cost")
    await expect(row).to_contain_text("80")
    async with unit_of_work(site.services, read_only=True) as uow:
        view = await squads.get_squad(uow, guild_id=GUILD_ID, squad_id=squad_id)
        await uow.commit()
    assert (view.name, view.switch_cost) == ("Red", 80)


async def test_the_admin_log_names_who_acted_and_filters(page: Page, site: Site) -> None:
    await fund(site.services, GUILD_ID, ALICE, 40)
    role = site.discord.add_role(int(GUILD_ID), "Blue team", position=2)
    made = await site.api.post(
        f"/api/guilds/{GUILD_ID}/squads", json={"role_id": str(role.id), "name": "Blue"}
    )
    assert made.status_code == 201
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/members/{ALICE}"))
    await page.select_option("select[name=action]", "add")
    await page.fill("input[name=amount]", "5")
    await page.fill("input[name=reason]", "bug bounty")
    await page.click("text=Apply")
    await expect(page.locator(".flash.ok")).to_be_visible()

    await page.goto(site.at(f"{A}/transactions"))
    await page.click("a:has-text('Admin log')")
    rows = page.locator("table.admin-log tbody tr")
    await expect(rows).to_have_count(4)  # and the fixtures' funding and settings, actor-less
    await expect(rows.nth(0)).to_contain_text("admin (dashboard)")
    await expect(rows.nth(0)).to_contain_text("bug bounty")
    await expect(rows.nth(1)).to_contain_text("API key")
    await page.select_option("select[name=action]", "balance.adjusted")
    await page.click("button:has-text('Filter')")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("bug bounty")
    await page.fill("input[name=actor]", "local:admin")
    await page.click("button:has-text('Filter')")
    await expect(rows).to_have_count(1)


async def test_the_api_docs_load_nothing_from_elsewhere(page: Page, site: Site) -> None:
    elsewhere: list[str] = []

    def record(request: Request) -> None:
        if not request.url.startswith(site.url) and not request.url.startswith("data:"):
            elsewhere.append(request.url)

    page.on("request", record)
    # An air-gapped box: anything not ours fails.
    await page.route(re.compile(r"^(?!" + re.escape(site.url) + ").*"), lambda route: route.abort())
    await page.goto(site.at("/api/docs"))
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("guildbank")
    await expect(page.locator(".opblock").first).to_be_visible()
    assert elsewhere == []
    html = await page.content()
    assert "cdn" not in html.lower()


async def test_live_updates_reach_every_number_on_the_page(
    page: Page, context: BrowserContext, site: Site
) -> None:
    bob = member(2)
    await fund(site.services, GUILD_ID, ALICE, 40)
    await fund(site.services, GUILD_ID, bob, 20)
    role = site.discord.add_role(int(GUILD_ID), "Red team", position=3)
    made = await site.api.post(
        f"/api/guilds/{GUILD_ID}/squads", json={"role_id": str(role.id), "name": "Red"}
    )
    squad_id = made.json()["id"]
    await log_in_locally(page, site)
    member_tab = await context.new_page()
    squads_tab = await context.new_page()
    await page.goto(site.at(A))
    await member_tab.goto(site.at(f"{A}/members/{ALICE}"))
    await squads_tab.goto(site.at(f"{A}/squads"))
    for tab in (page, member_tab, squads_tab):
        await expect(tab.locator("#live-status")).to_have_attribute("data-state", "open")
    leaders = page.locator("ol.leaders li")
    await expect(leaders.first).to_contain_text(ALICE[-3:])

    sent = await site.api.post(
        f"/api/guilds/{GUILD_ID}/bytes/transactions",
        json={"giver_id": ALICE, "receiver_id": bob, "amount": 30, "reason": "live"},
    )
    assert sent.status_code in (200, 201), sent.text
    await expect(
        member_tab.locator(f'[data-stat="balance"][data-balance-of="{ALICE}"]')
    ).to_have_text("10")
    # The top list re-reads the balances and its order: bob (50) now leads alice (10).
    await expect(page.locator(f'ol.leaders [data-balance-of="{bob}"]')).to_have_text("50")
    await expect(leaders.first).to_have_attribute("data-leader", bob)
    await expect(leaders.first.locator(".rank")).to_have_text("1")

    joined = await site.api.post(
        f"/api/guilds/{GUILD_ID}/squads/{squad_id}/join", json={"user_id": bob}
    )
    assert joined.status_code == 200, joined.text
    await expect(squads_tab.locator(f'[data-squad-count="{squad_id}"]')).to_have_text("1")


PHONE_PAGES = {
    "overview": "",
    "members": "/members",
    "transactions": "/transactions",
    "squads": "/squads",
    "settings": "/settings",
    "admin-log": "/admin-log",
}
# The smallest text on screen a phone user must read: chart labels at least 11 px.
MIN_LABEL_PX = 11


async def test_a_phone_fits_scrolls_visibly_and_reads_the_charts(
    context: BrowserContext, site: Site, clock: FakeClock
) -> None:
    await populate(site, clock)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone = await context.browser.new_context(  # type: ignore[union-attr]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    try:
        tab = await phone.new_page()
        await log_in_locally(tab, site)
        for name, path in PHONE_PAGES.items():
            await tab.goto(site.at(f"{A}{path}"))
            width = await tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name} scrolls the whole page sideways ({width}px)"
            tabs = await tab.evaluate(
                "(() => { const t = document.querySelector('nav.tabs');"
                " return {fits: t.scrollWidth <= t.clientWidth,"
                " marked: t.classList.contains('more-right')}; })()"
            )
            assert tabs["fits"] or tabs["marked"], f"{name}: the tab bar hides tabs unmarked"
            hidden = await tab.evaluate(
                "[...document.querySelectorAll('.scroll')].filter(b => b.scrollWidth >"
                " b.clientWidth + 1).filter(b => { const h = b.previousElementSibling;"
                " return !(h && h.classList.contains('scroll-hint') && h.offsetHeight > 0);"
                " }).length"
            )
            assert hidden == 0, f"{name}: a table scrolls sideways without a hint"
            await tab.screenshot(path=SCREENSHOTS / f"phone-{name}.png", full_page=True)
        await tab.goto(site.at(A))
        sizes = await tab.evaluate(
            "[...document.querySelectorAll('svg.chart')].flatMap(svg => {"
            " const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;"
            " return [...svg.querySelectorAll('text.label')].map(t =>"
            " parseFloat(getComputedStyle(t).fontSize) * scale); })"
        )
        assert sizes, "no chart labels"
        assert min(sizes) >= MIN_LABEL_PX, f"chart labels of {min(sizes):.1f}px on a phone"
    finally:
        await phone.close()


async def test_dark_mode_follows_the_system_setting(context: BrowserContext, site: Site) -> None:
    dark = await context.browser.new_context(  # type: ignore[union-attr]
        viewport={"width": 1280, "height": 860}, color_scheme="dark"
    )
    try:
        tab = await dark.new_page()
        await log_in_locally(tab, site)
        await tab.goto(site.at(A))
        background = await tab.evaluate("getComputedStyle(document.body).backgroundColor")
        ink = await tab.evaluate("getComputedStyle(document.body).color")
        assert background == "rgb(20, 22, 31)", background
        assert ink == "rgb(230, 232, 240)", ink
        await tab.screenshot(path=SCREENSHOTS / "overview-dark.png")
    finally:
        await dark.close()
    light = await context.new_page()
    await log_in_locally(light, site)
    await light.goto(site.at(A))
    assert await light.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(246, 247, 251)"
    )


async def test_the_login_page_says_how_to_enable_discord_login(page: Page, site: Site) -> None:
    # This site has OAuth configured (the fake Discord): the button, no help line.
    await page.goto(site.at("/admin/login"))
    await expect(page.locator("a.button.discord")).to_have_text("Log in with Discord")
    await expect(page.locator("[data-oauth-help]")).to_have_count(0)
