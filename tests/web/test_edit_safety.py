"""Issue 14, items 1–4 over HTTP on both backends: a refused form comes back as submitted,
stale saves are refused (the squads API's ``If-Match`` and the dashboard's forms) and show
what changed, every admin action names who did it (admin log, transaction page, CSV), and ids,
capacities, dates and pages that make no sense get a clear message and change nothing."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from typing import Any

import httpx
import pytest

from guildbank.features.squads import queries as squads
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID
from tests.factories import balance_view, db_snapshot, error_of, fund, member
from tests.web.helpers import SETTINGS_FORM, page_csrf

G = f"/admin/guilds/{GUILD_ID}"
ALICE, BOB, CAROL = member(1), member(2), member(3)


def role(n: int) -> str:
    return str(600000000000000000 + n)


def squads_url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/squads{path}"


async def _squad(api: httpx.AsyncClient, guild: str, name: str, n: int, **fields: Any) -> Any:
    response = await api.post(squads_url(guild), json={"role_id": role(n), "name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def _join(api: httpx.AsyncClient, guild: str, squad_id: int, user: str) -> None:
    response = await api.post(squads_url(guild, f"/{squad_id}/join"), json={"user_id": user})
    assert response.status_code == 200, response.text


def _input_value(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert found is not None, f"no input {name}"
    return unescape(found.group(1))


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select is not None
    found = re.search(r'<option value="(\w+)" selected>', select.group(0))
    assert found is not None, "nothing selected"
    return found.group(1)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([\w.]+)">', html)


# --- 2. the squads API: version, ETag, If-Match -------------------------------------------


async def test_a_stale_squad_put_is_refused_with_the_current_version(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await _squad(api, guild, "Red", 1)
    read = await api.get(squads_url(guild, f"/{red['id']}"))
    version = read.json()["version"]
    assert read.headers["etag"] == f'"{version}"'
    assert version == red["version"]

    saved = await api.put(
        squads_url(guild, f"/{red['id']}"),
        json={"switch_cost": 70},
        headers={"If-Match": f'"{version}"'},
    )
    assert saved.status_code == 200, saved.text
    newer = saved.json()["version"]
    assert newer != version
    assert saved.headers["etag"] == f'"{newer}"'

    # A second editor still holding the first version is refused; nothing changes.
    before = await db_snapshot(services)
    stale = await api.put(
        squads_url(guild, f"/{red['id']}"),
        json={"switch_cost": 5},
        headers={"If-Match": f'"{version}"'},
    )
    body = error_of(stale, 409, "stale_version")
    assert (body["expected"], body["current"]) == (version, newer)
    assert await db_snapshot(services) == before
    error_of(
        await api.put(squads_url(guild, f"/{red['id']}"), json={}, headers={"If-Match": "v1"}),
        400,
        "invalid_if_match",
    )
    # ``*`` and no header always apply.
    forced = await api.put(
        squads_url(guild, f"/{red['id']}"), json={"switch_cost": 9}, headers={"If-Match": "*"}
    )
    assert forced.json()["switch_cost"] == 9
    assert (await api.put(squads_url(guild, f"/{red['id']}"), json={"name": "R"})).status_code == (
        200
    )


async def test_the_api_refuses_a_member_limit_below_the_member_count(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await _squad(api, guild, "Red", 1)
    for person in (ALICE, BOB, CAROL):
        await _join(api, guild, red["id"], person)
    before = await db_snapshot(services)
    body = error_of(
        await api.put(squads_url(guild, f"/{red['id']}"), json={"max_members": 1}),
        400,
        "max_members_below_count",
    )
    assert "already has 3 members" in body["detail"]
    assert (body["members"], body["max_members"]) == (3, 1)
    assert await db_snapshot(services) == before
    ok = await api.put(squads_url(guild, f"/{red['id']}"), json={"max_members": 3})
    assert ok.json()["max_members"] == 3


# --- 1. a refused adjustment keeps the form as submitted ------------------------------------


async def test_a_refused_remove_comes_back_as_remove_with_the_typed_values(
    admin: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, ALICE, 10)
    before = await db_snapshot(services)
    path = f"{G}/members/{ALICE}"
    token = await page_csrf(admin, path)
    refused = await admin.post(
        f"{path}/adjust",
        data={"action": "remove", "amount": "500", "reason": "spam", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert _selected(refused.text, "action") == "remove"
    assert _input_value(refused.text, "amount") == "500"
    assert _input_value(refused.text, "reason") == "spam"
    assert await db_snapshot(services) == before
    for amount, message in (
        ("0", "must be positive"),
        ("99999999999999999999", "must be at most 9,007,199,254,740,991"),
        ("12a", "Enter a whole number"),
    ):
        again = await admin.post(
            f"{path}/adjust",
            data={"action": "remove", "amount": amount, "reason": "x", "csrf_token": token},
        )
        assert again.status_code == 400
        assert message in unescape(again.text)
        assert _selected(again.text, "action") == "remove"
        assert _input_value(again.text, "amount") == amount
    assert await db_snapshot(services) == before
    assert (await balance_view(services, guild, ALICE)).balance == 10


# --- 4. ids, dates and pages that make no sense -------------------------------------------


async def test_short_ids_bad_pages_and_reversed_dates_get_a_message(
    admin: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await db_snapshot(services)
    token = await page_csrf(admin, f"{G}/squads")
    made = await admin.post(
        f"{G}/squads",
        data={"name": "Ones", "role_id": "1", "switch_cost": "0", "csrf_token": token},
    )
    assert made.status_code == 400
    assert "1 is not a Discord role id" in unescape(made.text)
    adjusted = await admin.post(
        f"{G}/members/999/adjust",
        data={"action": "add", "amount": "5", "reason": "x", "csrf_token": token},
    )
    assert adjusted.status_code == 400
    assert "999 is not a Discord member id" in unescape(adjusted.text)
    settings = await admin.post(
        f"{G}/settings",
        data={**SETTINGS_FORM, "admin_role_ids": "12", "csrf_token": token},
    )
    assert settings.status_code == 400
    assert "12 is not a Discord role id" in unescape(settings.text)
    assert await db_snapshot(services) == before

    for path in (f"{G}/transactions", f"{G}/members", f"{G}/admin-log"):
        for bad in ("-1", "0", "abc"):
            response = await admin.get(path, params={"page": bad})
            assert response.status_code == 400, (path, bad)
            assert "Page must be a whole number from 1" in unescape(response.text)
    await fund(services, guild, ALICE, 10)
    listed = await admin.get(
        f"{G}/transactions", params={"start": "2026-03-10", "end": "2026-03-01"}
    )
    assert "To (2026-03-01) is before From (2026-03-10)" in unescape(listed.text)


async def test_a_squad_limit_below_its_members_is_refused_on_the_page(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await _squad(api, guild, "Red", 1)
    for person in (ALICE, BOB, CAROL):
        await _join(api, guild, red["id"], person)
    path = f"{G}/squads/{red['id']}"
    page = await admin.get(path)
    before = await db_snapshot(services)
    form = {
        "csrf_token": await page_csrf(admin, path),
        "version": _input_value(page.text, "version"),
        "name": "Red",
        "role_id": role(1),
        "switch_cost": "50",
        "max_members": "1",
    }
    refused = await admin.post(path, data=form)
    assert refused.status_code == 400
    assert "Red already has 3 members: the limit cannot be below 3" in unescape(refused.text)
    assert "Squad saved" not in refused.text
    assert await db_snapshot(services) == before


# --- 2. stale dashboard saves: refused, what changed is shown, nothing lost ------------------


async def test_a_squad_form_opened_before_an_api_change_is_refused_and_shows_it(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await _squad(api, guild, "Red", 1, switch_cost=50)
    path = f"{G}/squads/{red['id']}"
    opened = await admin.get(path)
    version = _input_value(opened.text, "version")
    assert version == red["version"]
    changed = await api.put(squads_url(guild, f"/{red['id']}"), json={"switch_cost": 80})
    assert changed.status_code == 200
    before = await db_snapshot(services)
    form = {
        "csrf_token": await page_csrf(admin, path),
        "version": version,
        "name": "Crimson",
        "role_id": role(1),
        "switch_cost": "50",
        "max_members": "",
    }
    refused = await admin.post(path, data=form)
    assert refused.status_code == 409
    text = unescape(refused.text)
    assert "changed since you opened it" in text
    assert re.search(r"<td>Switch cost</td><td>80</td><td>50</td>", text)
    assert _input_value(refused.text, "name") == "Crimson"  # what was typed is kept
    assert await db_snapshot(services) == before
    # The refused page carries the current version: saving again is a deliberate choice.
    again = await admin.post(path, data={**form, "version": _input_value(refused.text, "version")})
    assert again.status_code == 303
    async with unit_of_work(services, read_only=True) as uow:
        view = await squads.get_squad(uow, guild_id=guild, squad_id=red["id"])
        await uow.commit()
    assert (view.name, view.switch_cost) == ("Crimson", 50)


async def test_a_settings_form_opened_before_an_api_change_is_refused_and_shows_it(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    opened = await admin.get(f"{G}/settings")
    version = _input_value(opened.text, "version")
    changed = await api.put(f"/api/guilds/{guild}/settings", json={"daily_amount": 77})
    assert changed.status_code == 200
    before = await db_snapshot(services)
    refused = await admin.post(
        f"{G}/settings",
        data={
            **SETTINGS_FORM,
            "currency_name": "coins",
            "version": version,
            "csrf_token": await page_csrf(admin, f"{G}/settings"),
        },
    )
    assert refused.status_code == 409
    text = unescape(refused.text)
    assert "changed since you opened them" in text
    assert re.search(r"<td>Daily amount</td><td>77</td><td>10</td>", text)
    assert _input_value(refused.text, "currency_name") == "coins"
    assert await db_snapshot(services) == before


# --- 3. who acted ----------------------------------------------------------------------


async def test_dashboard_and_api_admin_actions_name_who_acted(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, ALICE, 100)
    path = f"{G}/members/{ALICE}"
    token = await page_csrf(admin, path)
    done = await admin.post(
        f"{path}/adjust",
        data={"action": "remove", "amount": "30", "reason": "spam refund", "csrf_token": token},
    )
    assert done.status_code == 303
    await _squad(api, guild, "Red", 1)

    log = unescape((await admin.get(f"{G}/admin-log")).text)
    assert "admin (dashboard)" in log
    assert "Balance adjusted" in log
    assert "spam refund" in log
    assert "Squad created" in log
    assert "API key" in log
    only_admin = unescape((await admin.get(f"{G}/admin-log", params={"actor": "local:admin"})).text)
    assert _rows(only_admin) == ["balance.adjusted"]
    only_squads = unescape(
        (await admin.get(f"{G}/admin-log", params={"action": "squad.created"})).text
    )
    assert _rows(only_squads) == ["squad.created"]

    export = await admin.get(f"{G}/transactions.csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    adjustments = [r for r in rows if r["type"] == "admin_adjust" and r["reason"] == "spam refund"]
    assert [r["actor_id"] for r in adjustments] == ["local:admin"]
    detail = unescape((await admin.get(f"{G}/transactions/{adjustments[0]['id']}")).text)
    assert "admin (dashboard)" in detail


@pytest.mark.parametrize("bad", ["<b>", "\x07"])
async def test_the_admin_log_refuses_odd_filters_with_a_message(
    admin: httpx.AsyncClient, guild: str, bad: str
) -> None:
    response = await admin.get(
        f"{G}/admin-log", params={"action": bad, "start": "2026-02-02", "end": "2026-02-01"}
    )
    assert response.status_code == 200
    text = unescape(response.text)
    assert "Choose an action from the list." in text
    assert "is before From" in text


# --- 5. names, not numbers ------------------------------------------------------------------


async def test_without_the_bot_token_the_page_says_once_why_ids_show(
    admin: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, ALICE, 10)
    await fund(services, guild, BOB, 10)
    page = (await admin.get(f"{G}/transactions")).text
    assert page.count("data-names-notice") == 1
    assert f'title="{ALICE}"' in page  # the id on hover
    settings = (await admin.get(f"{G}/settings")).text
    assert "data-names-notice" not in settings  # no member on that page
    assert '<option value="Europe/Berlin">' in settings  # the timezone picker
    assert 'list="timezones"' in settings


async def test_the_csv_names_members_when_discord_knows_them(
    discord_app: Any, discord: Any, manager: Any, services: Services
) -> None:
    from tests.web.fixtures import logged_in_as  # noqa: PLC0415

    alice = discord.add_member(int(GUILD_ID), username="alice")
    await fund(services, GUILD_ID, str(alice.id), 10)
    async with logged_in_as(discord_app, discord, manager.id) as client:
        export = await client.get(f"{G}/transactions.csv")
        page = (await client.get(f"{G}/transactions")).text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["to_names"] for r in rows if r["to_user_ids"] == str(alice.id)} == {"alice"}
    assert {r["from_names"] for r in rows if r["from_user_ids"] == "mint"} == {"-"}
    assert "data-names-notice" not in page


# --- 12. the API docs offline ---------------------------------------------------------------


async def test_the_api_docs_page_and_its_assets_are_all_ours(web: httpx.AsyncClient) -> None:
    page = await web.get("/api/docs")
    assert page.status_code == 200
    assert "https://" not in page.text
    assert "http://" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/api/docs?asset=swagger-ui-bundle.js", "/api/docs?asset=swagger-ui.css"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/api/docs?asset="), asset
        loaded = await web.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content
    assert (await web.get("/api/docs?asset=../../settings.py")).status_code == 404


async def test_squad_admin_actions_post_who_did_them_in_the_log_channel(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    from tests.factories import configure  # noqa: PLC0415
    from tests.outbox.helpers import all_jobs  # noqa: PLC0415

    channel = "600000000000000001"
    await configure(services, guild, log_channel_id=channel)
    red = await _squad(api, guild, "Red", 1)
    path = f"{G}/squads/{red['id']}"
    page = await admin.get(path)
    saved = await admin.post(
        path,
        data={
            "csrf_token": await page_csrf(admin, path),
            "version": _input_value(page.text, "version"),
            "name": "Crimson",
            "role_id": role(1),
            "switch_cost": "50",
            "max_members": "",
        },
    )
    assert saved.status_code == 303
    lines = [j.payload["content"] for j in await all_jobs(services) if j.kind == "message.post"]
    assert lines == [
        "🛡️ Squad Red created by API key tests.",
        "🛡️ Squad Crimson changed (name) by dashboard admin admin.",
    ]


# --- 10. number errors say what is wrong; required fields are marked -------------------------


async def test_number_errors_name_the_bound_with_separators_and_required_is_marked(
    admin: httpx.AsyncClient, guild: str, services: Services
) -> None:
    page = await admin.get(f"{G}/settings")
    assert re.search(r'name="currency_name"[^>]*\brequired\b', page.text)
    assert "required-note" in page.text
    squads_page = await admin.get(f"{G}/squads")
    assert re.search(r'name="name"[^>]*\brequired\b', squads_page.text)
    before = await db_snapshot(services)
    refused = await admin.post(
        f"{G}/settings",
        data={
            **SETTINGS_FORM,
            "max_transfer": "99999999999999999999",
            "csrf_token": await page_csrf(admin, f"{G}/settings"),
        },
    )
    assert refused.status_code == 400
    message = re.search(r'id="max_transfer-error" role="alert">([^<]+)<', refused.text)
    assert message is not None
    assert re.fullmatch(r"Must be at most \d{1,3}(,\d{3})+\.", unescape(message.group(1)))
    made = await admin.post(
        f"{G}/squads",
        data={
            "name": "Zero",
            "role_id": role(1),
            "switch_cost": "0",
            "max_members": "0",
            "csrf_token": await page_csrf(admin, f"{G}/squads"),
        },
    )
    assert "Must be positive (at least 1)." in unescape(made.text)
    assert await db_snapshot(services) == before
