"""Discord OAuth2 login and per-server permissions, checked on every request, against the fake
Discord: who sees which server, typed URLs and forged forms of other servers, revocation."""

from __future__ import annotations

import time

import hikari
import httpx
import pytest
from fastapi import FastAPI

from guildbank.features.economy import queries as reports
from guildbank.features.guilds.queries import get_config
from guildbank.platform.uow import Services, unit_of_work
from guildbank.web.sessions import COOKIE
from guildbank.web.state import DashboardState
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import balance_view, db_snapshot, member, send
from tests.fakes.discord import FakeDiscord, FakeMember
from tests.web.fixtures import client_for
from tests.web.helpers import SETTINGS_FORM, csrf_from, login_local, oauth_login, page_csrf

A, B = int(GUILD_ID), int(OTHER_GUILD_ID)
MANAGE_GUILD = int(hikari.Permissions.MANAGE_GUILD)
ADMINISTRATOR = int(hikari.Permissions.ADMINISTRATOR)


@pytest.fixture
def backend() -> str:
    return "sqlite"


def pages(guild_id: str) -> list[str]:
    g = f"/admin/guilds/{guild_id}"
    return [
        g,
        f"{g}/settings",
        f"{g}/members",
        f"{g}/members/{member(1)}",
        f"{g}/transactions",
        f"{g}/transactions/1",
        f"{g}/transactions.csv",
        f"{g}/integrity",
    ]


def forms(guild_id: str) -> list[tuple[str, dict[str, str]]]:
    g = f"/admin/guilds/{guild_id}"
    return [
        (f"{g}/settings", {**SETTINGS_FORM, "daily_amount": "999", "currency_name": "pwn"}),
        (f"{g}/members/{member(1)}/adjust", {"action": "set", "amount": "0", "reason": "x"}),
        (f"{g}/transactions/3/reverse", {"reason": "x", "confirm": "yes"}),
    ]


async def test_a_manager_sees_only_the_server_they_manage(
    manager_client: httpx.AsyncClient, services: Services
) -> None:
    await send(services, GUILD_ID, member(1), member(2), 5)
    client = manager_client
    servers = await client.get("/admin/")
    assert servers.status_code == 200
    assert f"/admin/guilds/{GUILD_ID}" in servers.text
    assert "Guild A" in servers.text  # the name comes from Discord
    assert OTHER_GUILD_ID not in servers.text
    assert "Guild B" not in servers.text
    assert "mara" in servers.text
    for path in pages(GUILD_ID):
        assert (await client.get(path)).status_code == 200, path


async def test_typed_urls_of_another_server_are_not_found(
    manager_client: httpx.AsyncClient, services: Services
) -> None:
    await send(services, OTHER_GUILD_ID, member(1), member(2), 5)
    client = manager_client
    for path in pages(OTHER_GUILD_ID):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "do not manage" in response.text
        assert "Guild B" not in response.text


async def test_forged_forms_for_another_server_change_nothing(
    manager_client: httpx.AsyncClient, services: Services
) -> None:
    await send(services, OTHER_GUILD_ID, member(1), member(2), 5)
    before = await db_snapshot(services)
    client = manager_client
    token = await page_csrf(client, f"/admin/guilds/{GUILD_ID}/settings")  # a valid token
    for path, data in forms(OTHER_GUILD_ID):
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 404, path
    assert await db_snapshot(services) == before
    assert (await balance_view(services, OTHER_GUILD_ID, member(2))).balance == 105


async def test_the_same_forms_work_on_the_managed_server(
    manager_client: httpx.AsyncClient, services: Services, manager: FakeMember
) -> None:
    """The control for the refusals above: the manager's own server accepts them."""
    await send(services, GUILD_ID, member(1), member(2), 5)
    client = manager_client
    token = await page_csrf(client, f"/admin/guilds/{GUILD_ID}/settings")
    for path, data in forms(GUILD_ID):
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 303, (path, response.text[:300])
    # Set to 0, then the reversal of the 5 sent gave them back.
    assert (await balance_view(services, GUILD_ID, member(1))).balance == 5
    # The manager is recorded as the actor of the adjustment.
    async with unit_of_work(services, read_only=True) as uow:
        adjusted = await reports.list_transactions(uow, guild_id=GUILD_ID, type="admin_adjust")
        config = await get_config(uow, GUILD_ID)
    assert adjusted[0].actor_id == str(manager.id)
    assert config.daily_amount == 999


@pytest.mark.parametrize(
    ("permissions", "owner", "sees"),
    [
        (ADMINISTRATOR, False, True),
        (MANAGE_GUILD, False, True),
        (0, True, True),
        (int(hikari.Permissions.MANAGE_MESSAGES | hikari.Permissions.KICK_MEMBERS), False, False),
        (0, False, False),
    ],
)
async def test_who_may_manage_a_server(
    discord_app: FastAPI, discord: FakeDiscord, permissions: int, owner: bool, sees: bool
) -> None:
    user = discord.add_member(A, username="someone", permissions=permissions or None, owner=owner)
    async with client_for(discord_app) as client:
        await oauth_login(client, discord, user.id)
        servers = await client.get("/admin/")
        assert (f"/admin/guilds/{GUILD_ID}" in servers.text) is sees
        overview = await client.get(f"/admin/guilds/{GUILD_ID}")
        assert overview.status_code == (200 if sees else 404)


async def test_losing_the_permission_takes_effect_on_the_next_request(
    manager_client: httpx.AsyncClient, discord: FakeDiscord, manager: FakeMember
) -> None:
    client = manager_client
    token = await page_csrf(client, f"/admin/guilds/{GUILD_ID}/settings")
    discord.get_member(A, manager.id).roles.clear()  # type: ignore[union-attr]
    assert (await client.get(f"/admin/guilds/{GUILD_ID}")).status_code == 404
    response = await client.post(
        f"/admin/guilds/{GUILD_ID}/settings",
        data={"daily_amount": "5", "csrf_token": token},
    )
    assert response.status_code == 404
    assert f"/admin/guilds/{GUILD_ID}" not in (await client.get("/admin/")).text


async def test_permissions_are_re_read_from_discord(
    manager_client: httpx.AsyncClient, discord: FakeDiscord
) -> None:
    client = manager_client
    since = discord.mark()
    await client.get(f"/admin/guilds/{GUILD_ID}")
    await client.get(f"/admin/guilds/{GUILD_ID}/members")
    checks = discord.rest.find("GET", "/users/@me/guilds", since=since)
    assert len(checks) == 2
    assert all(c.headers["Authorization"].startswith("Bearer ") for c in checks)


async def test_a_revoked_discord_token_ends_the_session(
    manager_client: httpx.AsyncClient, discord: FakeDiscord
) -> None:
    client = manager_client
    discord.oauth_tokens.clear()
    response = await client.get(f"/admin/guilds/{GUILD_ID}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert (await client.get("/admin/")).status_code == 303


async def test_a_discord_outage_is_tolerated_briefly_then_refused(
    manager_client: httpx.AsyncClient, discord: FakeDiscord, discord_app: FastAPI
) -> None:
    state: DashboardState = discord_app.state.dashboard
    client = manager_client
    discord.fail("GET", "/users/@me/guilds", status=500, code=0, message="down", times=None)
    assert (await client.get(f"/admin/guilds/{GUILD_ID}")).status_code == 200
    session_id = state.codec.unsign(client.cookies[COOKIE], "session", 3600)
    assert session_id is not None
    session = await state.sessions.get(session_id)
    assert session is not None
    session.guilds_checked_at = time.time() - 3600
    await state.sessions.save(session)
    response = await client.get(f"/admin/guilds/{GUILD_ID}")
    assert response.status_code == 503
    assert "could not confirm" in response.text


async def test_the_oauth_state_must_come_from_this_browser(
    discord_app: FastAPI, discord: FakeDiscord, manager: FakeMember
) -> None:
    async with client_for(discord_app) as victim, client_for(discord_app) as attacker:
        start = await attacker.get("/admin/login/discord")
        async with httpx.AsyncClient() as browser:
            consent = await browser.get(f"{start.headers['location']}&login_as={manager.id}")
        callback = consent.headers["location"]
        # A callback link planted on someone else (login CSRF) is refused ...
        assert (await victim.get(callback)).status_code == 403
        assert COOKIE not in victim.cookies
        # ... as is a callback whose state was tampered with.
        tampered = callback.replace("state=", "state=x")
        assert (await attacker.get(tampered)).status_code == 403
        assert (await attacker.get(callback)).status_code == 303


async def test_cancelled_consent_returns_to_the_login(
    discord_app: FastAPI, discord: FakeDiscord, manager: FakeMember
) -> None:
    async with client_for(discord_app) as client:
        discord.oauth_deny_next()
        response = await oauth_login(client, discord, manager.id)
        assert response.status_code == 401
        assert "cancelled" in response.text
        assert COOKIE not in client.cookies


async def test_names_and_roles_come_from_discord(
    manager_client: httpx.AsyncClient, discord: FakeDiscord, services: Services, manager: FakeMember
) -> None:
    whale = discord.add_role(A, "Whale")
    pat = discord.add_member(A, username="pat")
    await send(services, GUILD_ID, str(pat.id), str(manager.id), 7)
    client = manager_client
    token = await page_csrf(client, f"/admin/guilds/{GUILD_ID}/settings")
    settings = await client.post(
        f"/admin/guilds/{GUILD_ID}/settings",
        data={
            "csrf_token": token,
            **SETTINGS_FORM,
            "reward_role": str(whale.id),
            "reward_min": "500",
        },
    )
    assert settings.status_code == 303, settings.text
    page = (await client.get(f"/admin/guilds/{GUILD_ID}/settings")).text
    assert f'<option value="{whale.id}" selected>@Whale</option>' in page
    members = (await client.get(f"/admin/guilds/{GUILD_ID}/members")).text
    assert ">pat<" in members
    assert ">mara<" in members
    found = (await client.get(f"/admin/guilds/{GUILD_ID}/members", params={"q": "pa"})).text
    assert f'data-member="{pat.id}"' in found
    assert f'data-member="{manager.id}"' not in found
    overview = (await client.get(f"/admin/guilds/{GUILD_ID}")).text
    assert f'data-user-id="{pat.id}" data-user-name="pat"' in overview


async def test_pages_work_with_ids_when_discord_lookups_fail(
    manager_client: httpx.AsyncClient, discord: FakeDiscord, services: Services
) -> None:
    pat = discord.add_member(A, username="pat")
    await send(services, GUILD_ID, str(pat.id), member(9), 7)
    discord.fail("GET", r"/guilds/\d+(/.*)?", status=500, code=0, message="down", times=None)
    client = manager_client
    for path in pages(GUILD_ID):
        response = await client.get(path)
        assert response.status_code == 200, path
    overview = (await client.get(f"/admin/guilds/{GUILD_ID}")).text
    assert f"<code>{pat.id}</code>" in overview
    assert ">pat<" not in overview
    # Search reads the names stored with the accounts (the bot reports them), not Discord:
    # pat's name was never reported, so pat is not found by it, and nothing fails.
    search = await client.get(f"/admin/guilds/{GUILD_ID}/members", params={"q": "pat"})
    assert search.status_code == 200
    assert "No members match." in search.text


async def test_the_local_admin_sees_every_server(
    discord_app: FastAPI, discord: FakeDiscord
) -> None:
    async with client_for(discord_app) as client:
        await login_local(client)
        servers = (await client.get("/admin/")).text
        assert "Guild A" in servers
        assert "Guild B" in servers
        for gid in (GUILD_ID, OTHER_GUILD_ID):
            assert (await client.get(f"/admin/guilds/{gid}")).status_code == 200
        assert csrf_from(servers)


async def test_managed_servers_without_guildbank_are_listed_but_not_opened(
    discord_app: FastAPI, discord: FakeDiscord
) -> None:
    third = discord.add_guild(name="Guild C")
    owner = discord.users[third.owner_id]
    async with client_for(discord_app) as client:
        await oauth_login(client, discord, owner.id)
        servers = (await client.get("/admin/")).text
        assert "Servers you manage without guildbank" in servers
        assert f"Guild C <code>{third.id}</code>" in servers
        assert (await client.get(f"/admin/guilds/{third.id}")).status_code == 404


async def test_discord_lookups_are_cached_briefly(
    manager_client: httpx.AsyncClient, discord: FakeDiscord
) -> None:
    since = discord.mark()
    for _ in range(3):
        assert (await manager_client.get(f"/admin/guilds/{GUILD_ID}/settings")).status_code == 200
    roles = discord.rest.find("GET", rf"/guilds/{GUILD_ID}/roles", since=since)
    assert len(roles) == 1
    assert roles[0].headers["Authorization"] == f"Bot {discord.token}"
