"""Browser tests' fixtures (a plugin, ``tests/conftest.py``): Debian's Chromium driven by
Playwright against a live uvicorn server on 127.0.0.1, with the fake Discord for OAuth, names
and roles. A test that asks for the ``site`` runs on SQLite only (``tests/conftest.py``).

Chromium comes from ``apt-get install chromium`` (``make browser``); Playwright never downloads
a browser here. A missing Chromium fails the run rather than skipping it.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

from guildbank.platform.uow import Services
from tests.conftest import GUILD_ID, START, FakeClock, make_api_key
from tests.factories import claim, configure, fund, send
from tests.fakes.discord import FakeDiscord
from tests.web.fixtures import running_app
from tests.web.helpers import discord_overrides, live_server

CHROMIUM = "/usr/bin/chromium"
# How long a page action or a web-first assertion may wait: `make test` runs two workers on
# two cores, so a page may wait its turn for a CPU (5 s was seen to run out).
BROWSER_TIMEOUT_MS = 15_000
expect.set_options(timeout=BROWSER_TIMEOUT_MS)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")


@dataclass
class Site:
    """The running dashboard, the fake Discord behind it and a bearer client of its API."""

    url: str
    app: FastAPI
    discord: FakeDiscord
    services: Services
    api: httpx.AsyncClient
    console_errors: list[str] = field(default_factory=list)

    def at(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture
async def site(
    services: Services, database_url: str, discord: FakeDiscord, guild: str, other_guild: str
) -> AsyncIterator[Site]:
    app = await running_app(services, database_url, **discord_overrides(discord))
    key = await make_api_key(services)
    async with (
        live_server(app) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=5
        ) as api,
    ):
        yield Site(url, app, discord, services, api)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is required for browser tests: run `make browser`")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser, site: Site) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    # Generous: `make test` runs two workers on two cores, and a page may wait its turn.
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext, site: Site) -> AsyncIterator[Page]:
    """A tab that fails the test on script errors and CSP violations (console errors).

    Error pages the tests ask for on purpose (404/403 documents) are not counted.
    """
    tab = await context.new_page()

    def console(message: ConsoleMessage) -> None:
        expected = "the server responded with a status of 40" in message.text
        if message.type == "error" and not expected:
            site.console_errors.append(message.text)

    tab.on("console", console)
    tab.on("pageerror", lambda error: site.console_errors.append(str(error)))
    yield tab
    assert site.console_errors == [], site.console_errors


async def log_in_locally(page: Page, site: Site) -> None:
    from tests.web.helpers import ADMIN_PASSWORD, ADMIN_USER  # noqa: PLC0415

    await page.goto(site.at("/admin/login"))
    await page.fill("input[name=username]", ADMIN_USER)
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.at("/admin/"))


async def populate(site: Site, clock: FakeClock, guild_id: str = GUILD_ID) -> list[str]:
    """A month of realistic activity by members known to the fake Discord; their ids."""
    rng = random.Random(7)
    guild = int(guild_id)
    people = [str(site.discord.add_member(guild, username=name).id) for name in NAMES]
    whale = site.discord.add_role(guild, "Whale", position=5)
    regular = site.discord.add_role(guild, "Regular", position=4)
    await configure(
        site.services, guild_id, role_rewards={str(regular.id): 150, str(whale.id): 400}
    )
    clock.now = START - timedelta(days=29, hours=3)
    for day in range(30):
        for person in people[: 3 + day % 7]:
            await claim(site.services, guild_id, person)
        for _ in range(rng.randint(1, 5) + day // 6):
            giver, receiver = rng.sample(people, 2)
            await send(site.services, guild_id, giver, receiver, rng.randint(1, 15), "thanks!")
        clock.advance(days=1)
    clock.now = START
    await fund(site.services, guild_id, people[0], 1500)
    return people
