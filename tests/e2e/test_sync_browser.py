"""The Sync page in a real browser: a role Discord refused shows with its reason and a count
on the Sync tab; "Retry" hands it back to the bot's worker, and the page follows live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import hikari
import pytest
from playwright.async_api import Page, expect

from guildbank.outbox.executor import Executor
from guildbank.outbox.worker import OutboxWorker
from guildbank.runtime.client import GuildbankClient
from tests.conftest import GUILD_ID, make_api_key
from tests.e2e.browser import SCREENSHOTS, Site, log_in_locally

pytestmark = pytest.mark.browser

A = f"/admin/guilds/{GUILD_ID}"
ROLE_PUT = r"/guilds/\d+/members/\d+/roles/\d+"


@pytest.fixture
async def worker(site: Site) -> AsyncIterator[OutboxWorker]:
    """The bot's outbox worker, calling the live server's API over HTTP."""
    app = hikari.RESTApp(max_retries=0, url=site.discord.rest_url)
    await app.start()
    rest = app.acquire(site.discord.token, hikari.TokenType.BOT)
    rest.start()
    api = GuildbankClient.over_http(site.url, await make_api_key(site.services))
    running = OutboxWorker(api, Executor(rest), wait_seconds=2)
    running.start()
    try:
        yield running
    finally:
        await running.close()
        await api.aclose()
        await rest.close()
        await app.close()


async def _job_status(site: Site, job_id: int, wanted: str) -> None:
    """Until the job has the ``wanted`` status (polled through the API)."""
    path = f"/api/guilds/{GUILD_ID}/outbox/jobs/{job_id}"
    async with asyncio.timeout(15):
        while (await site.api.get(path)).json()["status"] != wanted:  # noqa: ASYNC110 - polls
            await asyncio.sleep(0.1)


async def test_a_refused_role_shows_on_the_sync_page_and_a_retry_grants_it(
    page: Page, site: Site, worker: OutboxWorker
) -> None:
    member = site.discord.add_member(int(GUILD_ID), username="alice")
    role = site.discord.add_role(int(GUILD_ID), "Whale", position=5)
    site.discord.fail("PUT", ROLE_PUT, status=403, code=50013, message="Missing Permissions")
    created = await site.api.post(
        f"/api/guilds/{GUILD_ID}/outbox/jobs",
        json={
            "kind": "role.grant",
            "payload": {"user_id": str(member.id), "role_id": str(role.id)},
        },
    )
    job_id = created.json()["id"]
    await _job_status(site, job_id, "failed")

    await log_in_locally(page, site)
    await page.goto(site.at(A))
    await expect(page.locator('[data-nav-count="sync"]')).to_have_text("1")
    await page.click("nav.tabs >> text=Sync")
    await page.wait_for_url(site.at(f"{A}/sync"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    failed = page.locator(f'#failed tr[data-job="{job_id}"]')
    await expect(failed).to_contain_text("Missing Permissions")
    await expect(failed).to_contain_text("@Whale")
    await expect(failed).to_contain_text("alice")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "sync.png", full_page=True)

    await failed.get_by_role("button", name="Retry").click()
    await expect(page.locator(".flash.ok")).to_have_text(f"Job #{job_id} will be tried again now.")
    await _job_status(site, job_id, "done")
    # The page follows the outbox live: no reload.
    await expect(page.locator("#failed tbody")).to_contain_text("Nothing failed.")
    await expect(page.locator("#pending tbody")).to_contain_text("Everything is in sync.")
    holder = site.discord.get_member(int(GUILD_ID), member.id)
    assert holder is not None
    assert role.id in holder.roles
