"""The Archive tab in a real browser (Chromium via Playwright, live uvicorn server): preview,
typed confirmation, the archive in the list with its download. Leaves the screenshots of
docs/archive.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.conftest import GUILD_ID, FakeClock
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally
from tests.features.archive.conftest import build_history, files_in

pytestmark = pytest.mark.browser


async def test_preview_then_archive_with_the_typed_confirmation(
    page: Page, site: Site, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(site.services, GUILD_ID, clock)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    await log_in_locally(page, site)
    await page.goto(site.at(f"/admin/guilds/{GUILD_ID}/archive"))
    await page.fill("input[name=days_to_keep]", "60")
    await page.click("button[name=preview]")
    await expect(page.locator("#preview")).to_contain_text("would archive")
    await page.screenshot(path=str(SCREENSHOTS / "archive-preview.png"), full_page=True)

    await page.fill("input[name=days_to_keep]", "60")
    await page.fill("input[name=confirm]", "ARCHIVE")
    await page.click("button[name=go]")
    row = page.locator("table.archives tbody tr[data-archive]")
    await expect(row).to_have_count(1)
    await expect(row.locator("a")).to_have_text("Download")
    assert len(files_in(archive_dir)) == 1
    await page.screenshot(path=str(SCREENSHOTS / "archive.png"), full_page=True)
