"""The members pages in a real browser (Chromium via Playwright, live uvicorn server): the
members who left, the cleanup preview and its run, and the economy reset's typed
confirmation. Leaves screenshots for the docs (docs/members.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from guildbank.features.economy.membership import set_member_active
from guildbank.platform.uow import unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally, populate

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"


async def test_members_who_left_cleanup_preview_and_reset(
    page: Page, site: Site, clock: FakeClock
) -> None:
    people = await populate(site, clock)
    clock.now -= timedelta(days=45)
    async with unit_of_work(site.services) as uow:
        for person in people[6:9]:
            await set_member_active(uow, guild_id=GUILD_ID, user_id=person, active=False)
        await uow.commit()
    clock.now += timedelta(days=40)
    async with unit_of_work(site.services) as uow:
        await set_member_active(uow, guild_id=GUILD_ID, user_id=people[9], active=False)
        await uow.commit()
    clock.now += timedelta(days=5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    await log_in_locally(page, site)
    await page.goto(site.at(f"{A}/members"))
    await page.click("text=Members who left & cleanup")
    await expect(page.locator("table.members tbody tr")).to_have_count(4)
    await page.fill("#cleanup input[name=days]", "30")
    await page.click("#cleanup >> text=Preview")
    preview = page.locator(".cleanup-preview")
    await expect(preview).to_have_attribute("data-preview-members", "3")
    await expect(preview.locator("tbody tr").first).to_contain_text("grace")
    await page.screenshot(path=str(SCREENSHOTS / "members-cleanup-preview.png"), full_page=True)
    await page.click("text=Clean up 3 members")
    await expect(page.locator(".flash.ok")).to_contain_text("Cleaned up 3 members")

    await page.goto(site.at(f"{A}/economy/reset"))
    await page.fill("input[name=confirm]", "nope")
    await page.click("button.danger")
    await expect(page.locator(".flash.error")).to_contain_text("To reset the economy, type")
    await page.screenshot(path=str(SCREENSHOTS / "members-reset.png"), full_page=True)
    await page.fill("input[name=confirm]", "RESET")
    await page.click("button.danger")
    await expect(page.locator(".flash.ok")).to_contain_text("Economy reset")
    await expect(page.locator("table.members tbody tr").first).to_contain_text("0")
    assert not site.console_errors, site.console_errors
