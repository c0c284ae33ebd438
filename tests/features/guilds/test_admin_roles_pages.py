"""Per-server admin roles in the dashboard: a Discord user holding one (and no Manage Server)
manages that server; the role is read with the bot token on every access check; losing it,
or a server without it, means no access; the settings page picks the roles by name."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import Services, unit_of_work
from guildbank.web.sessions import COOKIE
from guildbank.web.state import DashboardState
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import configure
from tests.fakes.discord import FakeDiscord, FakeMember, FakeRole
from tests.web.fixtures import client_for, logged_in_as, running_app
from tests.web.helpers import (
    SETTINGS_FORM,
    discord_overrides,
    login_local,
    oauth_login,
    page_csrf,
)

A, B = int(GUILD_ID), int(OTHER_GUILD_ID)
G = f"/admin/guilds/{GUILD_ID}"
H = f"/admin/guilds/{OTHER_GUILD_ID}"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def bankers(discord: FakeDiscord, discord_app: FastAPI, services: Services) -> FakeRole:
    """An "Economy admins" role of guild A, configured as A's admin role (no permissions)."""
    role = discord.add_role(A, "Economy admins", position=2)
    await configure(services, GUILD_ID, admin_role_ids=[str(role.id)])
    return role


@pytest.fixture
def banker(discord: FakeDiscord, bankers: FakeRole) -> FakeMember:
    """Holds the admin role of A and nothing else; an ordinary member of B."""
    bea = discord.add_member(A, username="bea", roles=[bankers.id])
    discord.add_member(B, bea.id)
    return bea


@pytest.fixture
async def banker_client(
    discord_app: FastAPI, discord: FakeDiscord, banker: FakeMember
) -> AsyncIterator[httpx.AsyncClient]:
    async with logged_in_as(discord_app, discord, banker.id) as client:
        yield client


async def test_an_admin_role_gives_access_to_that_server_only(
    banker_client: httpx.AsyncClient, discord: FakeDiscord, banker: FakeMember, services: Services
) -> None:
    # B has admin roles too, but not one the banker holds there.
    other = discord.add_role(B, "B admins")
    await configure(services, OTHER_GUILD_ID, admin_role_ids=[str(other.id)])
    servers = (await banker_client.get("/admin/")).text
    assert f'href="{G}"' in servers
    assert "Guild A" in servers
    assert f'href="{H}"' not in servers
    for path in (G, f"{G}/settings", f"{G}/members", f"{G}/squads"):
        assert (await banker_client.get(path)).status_code == 200, path
    assert (await banker_client.get(H)).status_code == 404
    token = await page_csrf(banker_client, f"{G}/settings")
    saved = await banker_client.post(
        f"{G}/settings",
        data={
            **SETTINGS_FORM,
            "daily_amount": "42",
            "admin_role": str(banker.roles[0]),
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303, saved.text[:300]
    async with unit_of_work(services, read_only=True) as uow:
        config = await get_config(uow, GUILD_ID)
        await uow.commit()
    assert config.daily_amount == 42
    # The member's roles were read with the bot token, not the user's.
    lookups = discord.rest.find("GET", rf"/guilds/{A}/members/{banker.id}")
    assert lookups
    assert all(c.headers["Authorization"] == f"Bot {discord.token}" for c in lookups)


async def test_without_the_role_there_is_no_access(
    discord_app: FastAPI, discord: FakeDiscord, bankers: FakeRole
) -> None:
    other_role = discord.add_role(A, "Regulars")
    pat = discord.add_member(A, username="pat", roles=[other_role.id])
    async with client_for(discord_app) as client:
        response = await oauth_login(client, discord, pat.id)
        assert response.status_code == 303
        assert f'href="{G}"' not in (await client.get("/admin/")).text
        overview = await client.get(G)
        assert overview.status_code == 404
        assert "do not manage" in overview.text


async def test_losing_the_role_revokes_access_on_the_next_check(
    banker_client: httpx.AsyncClient, discord: FakeDiscord, banker: FakeMember
) -> None:
    token = await page_csrf(banker_client, f"{G}/settings")
    assert (await banker_client.get(f"{G}/squads")).status_code == 200
    discord.get_member(A, banker.id).roles.clear()  # type: ignore[union-attr]
    assert (await banker_client.get(G)).status_code == 404
    refused = await banker_client.post(
        f"{G}/settings", data={**SETTINGS_FORM, "daily_amount": "1", "csrf_token": token}
    )
    assert refused.status_code == 404
    assert f'href="{G}"' not in (await banker_client.get("/admin/")).text


async def test_removing_the_role_from_the_settings_revokes_access(
    banker_client: httpx.AsyncClient, services: Services
) -> None:
    assert (await banker_client.get(G)).status_code == 200
    await configure(services, GUILD_ID, admin_role_ids=[])
    assert (await banker_client.get(G)).status_code == 404


async def test_a_role_lookup_outage_keeps_a_recent_grant_then_fails_closed(
    banker_client: httpx.AsyncClient, discord: FakeDiscord, banker: FakeMember, discord_app: FastAPI
) -> None:
    state: DashboardState = discord_app.state.dashboard
    discord.fail(
        "GET", rf"/guilds/{A}/members/{banker.id}", status=500, code=0, message="down", times=None
    )
    assert (await banker_client.get(G)).status_code == 200  # verified moments ago
    session_id = state.codec.unsign(banker_client.cookies[COOKIE], "session", 3600)
    assert session_id is not None
    session = await state.sessions.get(session_id)
    assert session is not None
    session.guilds_checked_at = time.time() - 3600
    await state.sessions.save(session)
    assert (await banker_client.get(G)).status_code == 404


async def test_a_login_during_a_role_lookup_outage_grants_nothing(
    discord_app: FastAPI, discord: FakeDiscord, banker: FakeMember
) -> None:
    discord.fail(
        "GET", rf"/guilds/{A}/members/{banker.id}", status=500, code=0, message="down", times=None
    )
    async with client_for(discord_app) as client:
        await oauth_login(client, discord, banker.id)
        assert (await client.get(G)).status_code == 404


async def test_the_access_check_is_cached_briefly(
    services: Services,
    database_url: str,
    discord: FakeDiscord,
    guild: str,
    other_guild: str,
) -> None:
    role = discord.add_role(A, "Economy admins")
    await configure(services, GUILD_ID, admin_role_ids=[str(role.id)])
    bea = discord.add_member(A, username="bea", roles=[role.id])
    app = await running_app(
        services, database_url, **discord_overrides(discord), dashboard_access_cache_seconds=30
    )
    async with app.router.lifespan_context(app), client_for(app) as client:
        await oauth_login(client, discord, bea.id)
        since = discord.mark()
        bea.roles.clear()
        for _ in range(3):
            assert (await client.get(G)).status_code == 200  # within the access cache
        assert discord.rest.find("GET", rf"/guilds/{A}/members/{bea.id}", since=since) == []
        assert discord.rest.find("GET", "/users/@me/guilds", since=since) == []


async def test_the_settings_page_picks_admin_roles_by_name(
    banker_client: httpx.AsyncClient, discord: FakeDiscord, bankers: FakeRole, services: Services
) -> None:
    mods = discord.add_role(A, "Moderators", position=1)
    page = (await banker_client.get(f"{G}/settings")).text
    assert (
        f'<input type="checkbox" name="admin_role" value="{bankers.id}" checked> @Economy admins'
        in page
    )
    assert f'<input type="checkbox" name="admin_role" value="{mods.id}"> @Moderators' in page
    token = await page_csrf(banker_client, f"{G}/settings")
    saved = await banker_client.post(
        f"{G}/settings",
        data={**SETTINGS_FORM, "admin_role": [str(bankers.id), str(mods.id)], "csrf_token": token},
    )
    assert saved.status_code == 303, saved.text[:300]
    async with unit_of_work(services, read_only=True) as uow:
        config = await get_config(uow, GUILD_ID)
        await uow.commit()
    assert set(config.admin_role_ids) == {str(bankers.id), str(mods.id)}


async def test_admin_roles_without_the_bot_token_are_typed_as_ids(
    services: Services, database_url: str, discord: FakeDiscord, guild: str
) -> None:
    app = await running_app(services, database_url, **discord_overrides(discord, bot_token=False))
    async with app.router.lifespan_context(app), client_for(app) as client:
        await login_local(client)
        page = (await client.get(f"{G}/settings")).text
        assert 'name="admin_role_ids" value=""' in page
        token = await page_csrf(client, f"{G}/settings")
        bad = await client.post(
            f"{G}/settings",
            data={**SETTINGS_FORM, "admin_role_ids": "123 abc", "csrf_token": token},
        )
        assert bad.status_code == 400
        assert 'id="admin_role_ids-error" role="alert">Must be a Discord id' in bad.text
        ids = "333333333333333333, 444444444444444444"  # (the guild's own id is @everyone)
        saved = await client.post(
            f"{G}/settings", data={**SETTINGS_FORM, "admin_role_ids": ids, "csrf_token": token}
        )
        assert saved.status_code == 303
        page = (await client.get(f"{G}/settings")).text
        assert 'value="333333333333333333 444444444444444444"' in page
        too_many = " ".join(str(10**17 + n) for n in range(26))
        refused = await client.post(
            f"{G}/settings", data={**SETTINGS_FORM, "admin_role_ids": too_many, "csrf_token": token}
        )
        assert refused.status_code == 400
        assert "Choose at most 25 admin roles." in refused.text
