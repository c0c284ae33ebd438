"""The Import tab in a real browser (Chromium via Playwright, live uvicorn server): a server's
old-bot folder uploaded as a zip, the report, and the run in the list. Leaves the screenshot
of docs/import.md."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from guildbank.features.imports.schemas import FILES
from tests.conftest import GUILD_ID
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally
from tests.features.imports.seed_data import write_guild

pytestmark = pytest.mark.browser


async def test_upload_a_servers_folder_and_read_the_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    expected = write_guild(tmp_path, GUILD_ID, 40, 120, seed=3, bad=True)
    upload = tmp_path / "old-bot.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for name in FILES:
            archive.write(tmp_path / GUILD_ID / name, arcname=f"data/{GUILD_ID}/{name}")

    await log_in_locally(page, site)
    await page.goto(site.at(f"/admin/guilds/{GUILD_ID}/import"))
    await expect(page.locator("tr.empty")).to_contain_text("Nothing imported yet.")
    await page.set_input_files("#files", str(upload))
    await page.click("form[enctype] button[type=submit]")
    report = page.locator("#report")
    await expect(report.locator("h2")).to_contain_text("Imported (run")
    await expect(report.locator("tr:has(th:text-is('Members')) td")).to_have_text("40")
    total = await report.locator("tr:has(th:text-is('Opening balances')) td").inner_text()
    assert int("".join(c for c in total if c.isdigit())) == sum(expected.balances.values())
    await expect(report.locator("ul.skipped li").first).to_contain_text("not a Discord user id")
    await expect(page.locator("table.data").last).to_contain_text("old-bot.zip")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "import.png"), full_page=True)
