"""Helpers for dashboard tests: logging in over HTTP, CSRF tokens, a live uvicorn server."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.fakes.discord import FakeDiscord

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct horse battery staple"
SECRET_KEY = "test-secret-key-that-is-long-enough-for-production"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Every scalar field of the settings form as a browser posts it: the defaults (rate limit off).
SETTINGS_FORM = {
    "currency_name": "bytes",
    "currency_emoji": "x",
    "starting_balance": "100",
    "daily_amount": "10",
    "max_transfer": "1000",
    "confirm_threshold": "100",
    "transfer_cooldown_hours": "0",
    "rate_limit_per_minute": "0",
    "timezone": "UTC",
}


def dashboard_overrides(**extra: Any) -> dict[str, Any]:
    """Settings for a dashboard under test: a local admin, permissions re-read every request."""
    return {
        "admin_username": ADMIN_USER,
        "admin_password": ADMIN_PASSWORD,
        "secret_key": SECRET_KEY,
        "dashboard_access_cache_seconds": 0,
        **extra,
    }


def discord_overrides(discord: FakeDiscord, *, bot_token: bool = True) -> dict[str, Any]:
    """Point the dashboard at the fake Discord (OAuth app and, optionally, the bot token)."""
    return {
        "discord_api_url": discord.rest_url,
        "discord_client_id": str(discord.application_id),
        "discord_client_secret": discord.client_secret,
        "discord_token": discord.token if bot_token else "",
    }


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


async def login_local(
    client: httpx.AsyncClient, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD
) -> httpx.Response:
    """Fill in the login form the way a browser does (the form's CSRF token included)."""
    form = await client.get("/admin/login")
    assert form.status_code == 200, form.text
    return await client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
    )


async def oauth_login(
    client: httpx.AsyncClient, discord: FakeDiscord, user_id: int
) -> httpx.Response:
    """The Discord button: our redirect, the fake's consent (as ``user_id``), our callback."""
    start = await client.get("/admin/login/discord")
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(f"{discord.rest_url}/oauth2/authorize?"), authorize
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(f"{authorize}&login_as={user_id}")
    assert consent.status_code == 302, consent.text
    return await client.get(consent.headers["location"])


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:500])
    return csrf_from(page.text)


@asynccontextmanager
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in this event loop (lifespan on)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if serving.done():
                    await serving
                    raise RuntimeError("uvicorn stopped during start-up")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()
