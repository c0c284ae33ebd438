"""Dashboard fixtures: an app with a local admin (lifespan running), clients, a fake Discord,
and a Discord user who manages guild A."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import hikari
import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, settings_for
from tests.fakes.discord import FakeDiscord, FakeMember
from tests.web.helpers import dashboard_overrides, discord_overrides, login_local, oauth_login


async def running_app(services: Services, database_url: str, **overrides: Any) -> FastAPI:
    return create_app(settings_for(database_url, **dashboard_overrides(**overrides)), services)


def client_for(app: FastAPI, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@asynccontextmanager
async def logged_in_as(
    app: FastAPI, discord: FakeDiscord, user_id: int
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` logged in through the fake Discord as ``user_id``."""
    async with client_for(app) as client:
        response = await oauth_login(client, discord, user_id)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/admin/"
        yield client


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with small parameters: the same code path, without 0.2 s per hash and check."""
    monkeypatch.setattr(
        "guildbank.web.state.PasswordHasher",
        functools.partial(PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
async def dashboard_app(services: Services, database_url: str) -> AsyncIterator[FastAPI]:
    app = await running_app(services, database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def web(dashboard_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client that has not logged in."""
    async with client_for(dashboard_app) as client:
        yield client


@pytest.fixture
async def admin(dashboard_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as the local admin."""
    async with client_for(dashboard_app) as client:
        response = await login_local(client)
        assert response.status_code == 303, response.text
        yield client


@pytest.fixture
async def other_guild(services: Services) -> str:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other guild")
        await update_config(uow, guild_id=OTHER_GUILD_ID, changes={"rate_limit_per_minute": 0})
        await uow.commit()
    return OTHER_GUILD_ID


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild(int(GUILD_ID), name="Guild A")
        fake.add_guild(int(OTHER_GUILD_ID), name="Guild B")
        yield fake


@pytest.fixture
async def discord_app(
    services: Services, database_url: str, discord: FakeDiscord, guild: str, other_guild: str
) -> AsyncIterator[FastAPI]:
    """Both guilds registered; OAuth and the bot token pointed at the fake Discord."""
    app = await running_app(services, database_url, **discord_overrides(discord))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def manager(discord: FakeDiscord) -> FakeMember:
    """Manage Server in guild A; an ordinary member of guild B."""
    mara = discord.add_member(
        int(GUILD_ID), username="mara", permissions=int(hikari.Permissions.MANAGE_GUILD)
    )
    discord.add_member(int(OTHER_GUILD_ID), mara.id)
    return mara


@pytest.fixture
async def manager_client(
    discord_app: FastAPI, discord: FakeDiscord, manager: FakeMember
) -> AsyncIterator[httpx.AsyncClient]:
    """Logged in through Discord as the manager of guild A."""
    async with logged_in_as(discord_app, discord, manager.id) as client:
        yield client
