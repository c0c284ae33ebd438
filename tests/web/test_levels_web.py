"""The dashboard's part of issue 9 items 4-5 and issue 10 item 6: moderators read but do not
change; a turned-off feature's pages refuse; the settings form is saved optimistically and
picks channels and roles by name (stale ones shown as such, bad ones refused next to the
field); a server admin makes API keys that only work for that server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.service import register_guild
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID
from tests.factories import bytes_url, configure, db_snapshot, fund, member
from tests.fakes.discord import FakeDiscord
from tests.web.fixtures import client_for, logged_in_as
from tests.web.helpers import SETTINGS_FORM, csrf_from, page_csrf

pytestmark = pytest.mark.usefixtures("guild")
G = f"/admin/guilds/{GUILD_ID}"
WHALE, HIGH, BOT, OLD = (
    "800000000000000001",
    "800000000000000002",
    "800000000000000003",
    "800000000000000004",
)
GENERAL, LOGS, VOICE = "700000000000000001", "700000000000000002", "700000000000000003"


async def report_metadata(api: httpx.AsyncClient) -> None:
    body = {
        "channels": [
            {"id": GENERAL, "name": "general", "type": 0},
            {"id": LOGS, "name": "bank-log", "type": 0},
            {"id": VOICE, "name": "Lounge", "type": 2},
        ],
        "roles": [
            {"id": WHALE, "name": "Whale", "position": 2},
            {"id": HIGH, "name": "Mods", "position": 9},
            {"id": OLD, "name": "Old role", "position": 1},
            {"id": BOT, "name": "guildbank", "position": 5, "managed": True, "bot_holds": True},
        ],
    }
    response = await api.put(f"/api/guilds/{GUILD_ID}/metadata", json=body)
    assert response.status_code == 200, response.text


def form(**extra: Any) -> dict[str, Any]:
    """The settings form as the page posts it: every field, the toggles shown (all on)."""
    toggles = {f"feature_{n}": "1" for n in ("economy", "squads", "shop", "tasks", "announcements")}
    return {**SETTINGS_FORM, "features_shown": "1", **toggles, **extra}


async def test_a_moderator_reads_and_changes_nothing(
    discord_app: FastAPI, discord: FakeDiscord, services: Services
) -> None:
    a = int(GUILD_ID)
    mods = discord.add_role(a, "Mods", position=3)
    moe = discord.add_member(a, username="moe", roles=[mods.id])
    await configure(services, GUILD_ID, moderator_role_ids=[str(mods.id)])
    await fund(services, GUILD_ID, member(1), 40)
    async with logged_in_as(discord_app, discord, moe.id) as client:
        servers = (await client.get("/admin/")).text
        assert f"{G}" in servers
        assert "you moderate (read-only)" in servers
        for path in (G, f"{G}/members", f"{G}/members/{member(1)}", f"{G}/transactions"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert "moderator · read-only" in page.text
        assert (await client.get(f"{G}/squads")).status_code == 200
        for path in (f"{G}/settings", f"{G}/api-keys", f"{G}/integrity"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "for admins of" in refused.text
        token = csrf_from((await client.get(G)).text)
        before = await db_snapshot(services)
        for path, data in (
            (f"{G}/members/{member(1)}/adjust", {"action": "set", "amount": "0", "reason": "x"}),
            (f"{G}/settings", form(daily_amount="999")),
            (f"{G}/squads", {"name": "Mine", "role_id": str(mods.id)}),
        ):
            response = await client.post(path, data={**data, "csrf_token": token})
            assert response.status_code == 403, path
        assert await db_snapshot(services) == before
        # Without the role, no access at all (the same answer as any other server).
        moe.roles.remove(mods.id)
        assert (await client.get(G)).status_code == 404


async def test_a_turned_off_feature_refuses_its_pages_until_turned_on(
    admin: httpx.AsyncClient, services: Services
) -> None:
    assert (await admin.get(f"{G}/squads")).status_code == 200
    token = await page_csrf(admin, f"{G}/settings")
    off = {k: v for k, v in form().items() if k != "feature_squads"}
    saved = await admin.post(f"{G}/settings", data={**off, "csrf_token": token})
    assert saved.status_code == 303, saved.text
    async with unit_of_work(services, read_only=True) as uow:
        assert not (await get_config(uow, GUILD_ID)).enabled("squads")
    refused = await admin.get(f"{G}/squads")
    assert refused.status_code == 409
    assert "The squads feature is disabled on this server" in refused.text
    overview = (await admin.get(G)).text
    assert re.search(r'class="off"[^>]*>Squads \(off\)</a>', overview)
    settings = (await admin.get(f"{G}/settings")).text
    assert 'name="feature_squads" value="1">' in settings  # shown unchecked
    token = csrf_from(settings)
    assert (await admin.post(f"{G}/settings", data={**form(), "csrf_token": token})).is_redirect
    assert (await admin.get(f"{G}/squads")).status_code == 200


async def test_a_form_made_from_old_settings_is_refused(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, services: Services
) -> None:
    page = (await admin.get(f"{G}/settings")).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    assert (await api.put(bytes_url(GUILD_ID, "/config"), json={"daily_amount": 3})).is_success
    stale = await admin.post(
        f"{G}/settings",
        data={
            **form(daily_amount="42"),
            "version": version.group(1),
            "csrf_token": csrf_from(page),
        },
    )
    assert stale.status_code == 409
    assert "changed since you opened them" in stale.text
    async with unit_of_work(services, read_only=True) as uow:
        assert (await get_config(uow, GUILD_ID)).daily_amount == 3


async def test_pickers_name_channels_and_roles_and_refuse_bad_ones(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, services: Services
) -> None:
    await report_metadata(api)
    await configure(services, GUILD_ID, admin_role_ids=[OLD], log_channel_id=LOGS)
    await api.delete(f"/api/guilds/{GUILD_ID}/roles/{OLD}")
    page = (await admin.get(f"{G}/settings")).text
    assert f'<option value="{LOGS}" selected>#bank-log</option>' in page
    assert f'<option value="{GENERAL}">#general</option>' in page
    assert VOICE not in page  # not a text channel: not offered
    assert f'<option value="{WHALE}">@Whale</option>' in page
    assert f'<option value="{HIGH}">@Mods (the bot cannot give it)</option>' in page
    # The deleted admin role stays, named and marked, instead of vanishing.
    assert f'value="{OLD}" checked> @Old role (deleted)' in page

    token = csrf_from(page)
    before = await db_snapshot(services)
    refused = await admin.post(
        f"{G}/settings",
        data={
            **form(),
            "reward_role": [HIGH],
            "reward_min": ["100"],
            "admin_role": [OLD],
            "log_channel_id": LOGS,
            "csrf_token": token,
        },
    )
    assert refused.status_code == 409
    assert 'id="role_rewards-error" role="alert">@Mods is at or above the bot' in refused.text
    assert await db_snapshot(services) == before
    wrong_channel = await admin.post(
        f"{G}/settings", data={**form(), "task_channel_id": VOICE, "csrf_token": token}
    )
    assert wrong_channel.status_code == 400
    assert 'id="task_channel_id-error" role="alert">#Lounge is not a text channel' in (
        wrong_channel.text
    )
    saved = await admin.post(
        f"{G}/settings",
        data={
            **form(),
            "reward_role": [WHALE],
            "reward_min": ["100"],
            "admin_role": [OLD],
            "log_channel_id": GENERAL,
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303, saved.text
    async with unit_of_work(services, read_only=True) as uow:
        config = await get_config(uow, GUILD_ID)
    assert (dict(config.role_rewards), config.log_channel_id) == ({WHALE: 100}, GENERAL)
    assert config.admin_role_ids == (OLD,)  # a stale id already stored is kept


async def test_a_server_admin_makes_keys_for_that_server_only(
    admin: httpx.AsyncClient, dashboard_app: FastAPI, services: Services
) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other")
        await uow.commit()
    token = await page_csrf(admin, f"{G}/api-keys")
    created = await admin.post(
        f"{G}/api-keys", data={"name": "leaderboard site", "scope": ["read"], "csrf_token": token}
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = re.search(r"<code class=\"token\" data-token>(gb_[^<]+)</code>", created.text)
    assert key is not None
    async with client_for(dashboard_app) as tool:
        tool.headers["Authorization"] = f"Bearer {key.group(1)}"
        assert (await tool.get(bytes_url(GUILD_ID, "/leaderboard"))).status_code == 200
        other = await tool.get(bytes_url(OTHER_GUILD_ID, "/leaderboard"))
        assert (other.status_code, other.json()["code"]) == (403, "forbidden_guild")
        listing = (await admin.get(f"{G}/api-keys")).text
        assert "leaderboard site" in listing
        assert key.group(1) not in listing  # shown once
        key_id = re.search(r'data-key="(\d+)"', listing)
        assert key_id is not None
        revoked = await admin.post(
            f"{G}/api-keys/{key_id.group(1)}/revoke", data={"csrf_token": token}
        )
        assert revoked.status_code == 303
        assert "revoked" in (await admin.get(f"{G}/api-keys")).text
        # Another server's page cannot revoke it (nor see it).
        other_page = (await admin.get(f"/admin/guilds/{OTHER_GUILD_ID}/api-keys")).text
        assert "leaderboard site" not in other_page
    bad = await admin.post(f"{G}/api-keys", data={"name": "", "csrf_token": token})
    assert bad.status_code == 400
    assert "A key needs a name" in bad.text
