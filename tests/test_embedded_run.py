"""The embedded mode behind ``make run``: uvicorn and the bot in one event loop, one process.

``guildbank.runtime.runner.serve`` runs against a migrated SQLite file, a free local port and
the fake Discord; the checks go through the real HTTP API on that port, as an operator's would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from guildbank.platform.migrate import upgrade
from guildbank.runtime import runner
from guildbank.runtime.app import create_app
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.conftest import make_api_key, settings_for
from tests.fakes.discord import FakeDiscord
from tests.fakes.ports import free_port

WAIT = 15.0  # generous: other test runs share this machine
BOT_RUNNING = "Discord bot: <code>running</code>"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}"
    upgrade(url)
    return url


@pytest.fixture
def built_apps(monkeypatch: pytest.MonkeyPatch) -> list[FastAPI]:
    """The apps ``serve`` builds (to read their state once the server is gone)."""
    apps: list[FastAPI] = []

    def recording(*args: Any, **kwargs: Any) -> FastAPI:
        apps.append(create_app(*args, **kwargs))
        return apps[-1]

    monkeypatch.setattr("guildbank.runtime.runner.create_app", recording)
    return apps


async def _api_key(settings: Settings) -> str:
    services = build_services(settings)
    try:
        return await make_api_key(services)
    finally:
        await services.close()


async def _until_ok(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """GET ``url`` until the server is up and answers 200 (404 meanwhile: not registered yet)."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                response = await http.get(url)
            except httpx.ConnectError:
                response = None
            if response is not None and response.status_code == 200:
                return response
            assert response is None or response.status_code == 404, response.text
            await asyncio.sleep(0.05)


async def test_run_serves_the_api_and_the_bot_in_one_loop_and_stops_cleanly(
    database_url: str, built_apps: list[FastAPI]
) -> None:
    async with FakeDiscord() as discord:
        guild = discord.add_guild(name="Embedded Club")
        alice = discord.add_member(guild.id, username="alice")
        port = free_port()
        settings = settings_for(
            database_url,
            port=port,
            discord_token=discord.token,
            discord_api_url=discord.rest_url,
            discord_command_guilds=[guild.id],
        )
        key = await _api_key(settings)
        base = f"http://127.0.0.1:{port}"
        serving = asyncio.create_task(runner.serve(settings, with_bot=True))
        try:
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=WAIT
            ) as http:
                # The bot registered the guild through its in-process client when it came up.
                config = await _until_ok(http, f"/api/guilds/{guild.id}/bytes/config")
                assert config.json()["currency_name"] == "bytes"

                commands = f"/applications/{discord.application_id}/guilds/{guild.id}/commands"
                await discord.wait_for_call("PUT", commands, timeout=WAIT)
                interaction = await discord.slash_command(guild.id, alice.id, "daily")
                answer = await discord.wait_for_response(interaction, timeout=WAIT)
                embed = answer.json["data"]["embeds"][0]
                assert embed["title"] == "Daily reward"
                assert {f["name"]: f["value"] for f in embed["fields"]}["Balance"] == "110"
                balance = await http.get(f"/api/guilds/{guild.id}/bytes/balance/{alice.id}")
                assert balance.json()["balance"] == 110

                landing = await http.get("/")
                assert landing.status_code == 200
                assert BOT_RUNNING in landing.text
        finally:
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await serving

        (app,) = built_apps
        assert app.state.bot_running is False
        sessions = list(discord.gateway.sessions.values())
        assert sessions
        assert all(session.ended for session in sessions)  # the bot closed its gateway
        with pytest.raises(httpx.ConnectError):  # the port is released
            async with httpx.AsyncClient(base_url=base) as http:
                await http.get("/health")
    await asyncio.sleep(0)  # let cancelled tasks finish
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leaked, f"tasks outlived the run: {leaked}"


async def test_run_without_a_token_serves_and_says_the_bot_is_not_configured(
    database_url: str,
) -> None:
    port = free_port()
    serving = asyncio.create_task(
        runner.serve(settings_for(database_url, port=port), with_bot=False)
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            landing = await _until_ok(http, "/")
        assert "Discord bot: <code>not configured</code>" in landing.text
    finally:
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
    assert serving.cancelled()
