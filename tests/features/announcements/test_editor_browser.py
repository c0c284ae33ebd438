"""The embed editor and scheduling in a real browser (Chromium via Playwright, live server):
the preview follows every keystroke like Discord draws it, counters warn past Discord's
limits, fields reorder, and an announcement is scheduled then cancelled. No console error
(script or CSP) is allowed."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.conftest import GUILD_ID
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally
from tests.features.announcements.support import CHANNEL

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"


async def test_embed_editor_live_preview_limits_and_field_order(page: Page, site: Site) -> None:
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/embeds"))
    preview = page.locator("#embed-preview")

    await page.fill("#e-name", "Welcome")
    await page.fill("#e-author_name", "The mods")
    await page.fill("#e-title", "Welcome to Byte Club")
    await expect(preview.locator(".dc-title")).to_have_text("Welcome to Byte Club")
    await page.fill("#e-description", "Read the **rules** and say hi in `#general`.")
    await expect(preview.locator(".dc-description strong")).to_have_text("rules")
    await expect(preview.locator(".dc-description code")).to_have_text("#general")
    await page.fill("#e-color", "#57f287")
    assert await preview.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(87, 242, 135)"
    await page.fill("#e-footer_text", "guildbank")
    await page.fill("#e-image_url", "https://example.com/banner.png")
    await expect(preview.locator(".dc-image.dc-placeholder")).to_contain_text("example.com")

    rows = page.locator("[data-field-row]")
    await rows.nth(0).locator("[name=field_name]").fill("Daily")
    await rows.nth(0).locator("[name=field_value]").fill("/daily every day")
    await page.click("[data-add-field]")
    await rows.nth(1).locator("[name=field_name]").fill("Shop")
    await rows.nth(1).locator("[name=field_value]").fill("/shop to spend")
    await rows.nth(1).locator("[name=field_inline]").select_option("yes")
    names = preview.locator(".dc-field-name")
    await expect(names).to_have_text(["Daily", "Shop"])
    await expect(preview.locator(".dc-field.inline .dc-field-name")).to_have_text("Shop")
    await rows.nth(1).locator("[data-move=up]").click()
    await expect(names).to_have_text(["Shop", "Daily"])

    counter = page.locator('[data-counter="title"]')
    await expect(counter).to_have_text("20 / 256")
    await page.fill("#e-title", "x" * 257)
    await expect(counter).to_have_class("counter over")
    await page.fill("#e-title", "Welcome to Byte Club")
    await expect(counter).not_to_have_class("counter over")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=SCREENSHOTS / "announcements-embed-editor.png", full_page=True)
    await page.click("#embed-form button[type=submit]")
    await expect(page.locator(".flash.ok")).to_contain_text("Embed Welcome saved")
    await expect(page.locator("[name=field_name]").nth(0)).to_have_value("Shop")

    saved = (await site.api.get(f"/api/guilds/{GUILD_ID}/embeds")).json()
    assert [f["name"] for f in saved[0]["embed"]["fields"]] == ["Shop", "Daily"]
    assert saved[0]["embed"]["color"] == 0x57F287

    # Refused in the browser too: every violation listed, nothing saved.
    await page.fill("#e-title", "x" * 300)
    await page.fill("#e-color", "green")
    await page.click("#embed-form button[type=submit]")
    problems = page.locator("#embed-problems")
    await expect(problems).to_contain_text("title is 300 characters")
    await expect(problems).to_contain_text("six hex digits")
    again = (await site.api.get(f"/api/guilds/{GUILD_ID}/embeds")).json()
    assert again[0]["embed"]["title"] == "Welcome to Byte Club"


async def test_schedule_and_cancel_an_announcement(page: Page, site: Site) -> None:
    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/announcements"))
    await page.fill("#a-channel", CHANNEL)
    await page.fill("#a-content", "Game night on Friday!")
    await page.fill("#a-at", "2030-05-01T20:00")
    await page.click("#new-announcement button[type=submit]")
    await expect(page.locator(".flash.ok")).to_contain_text("Scheduled for 2030-05-01 20:00")
    row = page.locator("[data-announcement]").first
    await expect(row).to_have_attribute("data-status", "scheduled")
    await expect(row).to_contain_text("2030-05-01 20:00")
    await page.fill("#a-channel", CHANNEL)
    await page.fill("#a-content", "Welcome, everyone")
    await page.click("#new-announcement button[type=submit]")
    await expect(page.locator(".flash.ok")).to_contain_text("Posting")
    await expect(page.locator('[data-status="posted"] [data-sync]')).to_have_text("pending")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "announcements-schedule.png", full_page=True)

    scheduled = page.locator('[data-status="scheduled"]')
    await scheduled.locator("button", has_text="Cancel").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Cancelled")
    await expect(page.locator('[data-status="cancelled"]')).to_have_count(1)
    listed = (await site.api.get(f"/api/guilds/{GUILD_ID}/announcements")).json()
    assert sorted(a["status"] for a in listed) == ["cancelled", "posted"]
