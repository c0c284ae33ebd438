"""The dashboard's pages over HTTP as the local admin, on SQLite and PostgreSQL: overview,
settings with per-field validation, members and adjustments, the transaction log, CSV export,
reversal and the integrity check."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from html import unescape

import httpx
import pytest
from sqlalchemy import update

from guildbank.features.economy import queries as reports
from guildbank.features.economy import transaction_pages
from guildbank.features.economy.membership import set_member_active
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import FEATURE_TOGGLES
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.factories import (
    balance_view,
    bytes_url,
    claim,
    db_snapshot,
    fund,
    member,
    open_account,
    send,
)
from tests.web.helpers import page_csrf

G = f"/admin/guilds/{GUILD_ID}"
SETTINGS = {
    "currency_name": "coins",
    "currency_emoji": "🪙",
    "starting_balance": "50",
    "daily_amount": "25",
    "max_transfer": "500",
    "confirm_threshold": "200",
    "transfer_cooldown_hours": "2",
    "rate_limit_per_minute": "7",
    "timezone": "Europe/Berlin",
}


def _errors(html: str) -> dict[str, str]:
    found = re.findall(r'id="(\w+)-error" role="alert">([^<]+)<', html)
    return {name: unescape(message) for name, message in found}


async def _post(client: httpx.AsyncClient, path: str, data: Mapping[str, object]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/settings")
    return await client.post(path, data={**data, "csrf_token": token})


async def test_overview_shows_numbers_charts_and_people(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    await send(services, guild, member(1), member(2), 30)
    clock.advance(days=1)
    await claim(services, guild, member(3))
    page = await admin.get(G)
    assert page.status_code == 200
    html = page.text
    assert re.search(r'data-stat="members">3<', html)
    assert re.search(r'data-stat="supply">310<', html)
    assert re.search(r'data-stat="today">2<', html)
    assert re.search(r'data-stat="transactions">5<', html)
    assert html.count('<rect class="bar"') == 30
    assert "2026-03-14: 3 transactions" in html
    assert "2026-03-15: 2 transactions" in html
    assert html.count('<circle class="dot"') == 90  # supply, velocity, Gini: one a day each
    assert "2026-03-15: 310 bytes" in html
    assert "2026-03-14: 200 bytes" in html
    leaders = re.findall(
        r'<span class="rank">(\d+)</span> <a class="user" href="[^"]+/(\d+)"', html
    )
    assert leaders == [("1", member(2)), ("2", member(3)), ("3", member(1))]
    recent = re.findall(r'<tr data-transaction-id="(\d+)">', html)
    assert recent == ["5", "4", "3", "2", "1"]
    assert "data-live-rows" in html
    assert 'data-live="1"' in html


async def test_settings_show_every_field_and_save_a_change(
    admin: httpx.AsyncClient, api: httpx.AsyncClient, guild: str
) -> None:
    page = (await admin.get(f"{G}/settings")).text
    for name in (*SETTINGS, "streak_days", "streak_multiplier", "reward_role", "reward_min"):
        assert f'name="{name}"' in page, name
    assert page.count('name="streak_days" value="') == 5  # the 4 default tiers and a blank row
    response = await _post(
        admin,
        f"{G}/settings",
        {
            **SETTINGS,
            "streak_days": ["5", "10", ""],
            "streak_multiplier": ["3", "6", ""],
            "reward_role": ["123456789012345678", ""],
            "reward_min": ["1000", ""],
        },
    )
    assert response.status_code == 303
    saved = await admin.get(response.headers["location"])
    assert "Settings saved." in saved.text
    config = (await api.get(bytes_url(guild, "/config"))).json()
    assert config == {
        "currency_name": "coins",
        "currency_emoji": "🪙",
        "starting_balance": 50,
        "daily_amount": 25,
        "max_transfer": 500,
        "confirm_threshold": 200,
        "transfer_cooldown_hours": 2,
        "rate_limit_per_minute": 7,
        "timezone": "Europe/Berlin",
        "streak_bonuses": {"5": 3, "10": 6},
        "role_rewards": {"123456789012345678": 1000},
        "admin_role_ids": [],
        "moderator_role_ids": [],
        "features": dict.fromkeys(FEATURE_TOGGLES, True),
        "log_channel_id": None,
        "shop_channel_id": None,
        "task_channel_id": None,
        "version": 3,  # the fixture's change, then this one
    }
    assert 'value="coins"' in saved.text  # the form shows the saved values


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"daily_amount": "-5", "max_transfer": "abc", "currency_name": " "},
            {
                "daily_amount": "Must be at least 0.",
                "max_transfer": "Enter a whole number.",
                "currency_name": "This cannot be empty.",
            },
        ),
        ({"timezone": "Mars/Olympus_Mons"}, {"timezone": "Unknown timezone 'Mars/Olympus_Mons'"}),
        ({"streak_days": ["8", "8"], "streak_multiplier": ["2", "3"]}, {"streak_bonuses": "Row 2"}),
        ({"streak_days": ["8"], "streak_multiplier": [""]}, {"streak_bonuses": "Row 1: fill in"}),
        ({"streak_days": ["0"], "streak_multiplier": ["2"]}, {"streak_bonuses": "from 1 to"}),
        ({"reward_role": ["not-a-role"], "reward_min": ["5"]}, {"role_rewards": "Discord id"}),
        ({"confirm_threshold": "99999999999999999"}, {"confirm_threshold": "Must be at most"}),
    ],
)
async def test_invalid_settings_show_messages_next_to_fields_and_save_nothing(
    admin: httpx.AsyncClient,
    services: Services,
    guild: str,
    changes: dict[str, object],
    expected: dict[str, str],
) -> None:
    before = await db_snapshot(services)
    response = await _post(admin, f"{G}/settings", {**SETTINGS, **changes})
    assert response.status_code == 400
    errors = _errors(response.text)
    assert set(errors) == set(expected)
    for name, message in expected.items():
        assert message in errors[name], (name, errors[name])
    assert "nothing was saved" in response.text
    assert await db_snapshot(services) == before
    for value in changes.values():  # what was typed is shown again
        if isinstance(value, str) and value.strip():
            assert f'value="{value}"' in response.text


async def test_members_list_search_sort_inactive_and_pages(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    for n in range(1, 31):
        await fund(services, guild, member(n), n)
    async with unit_of_work(services) as uow:
        await set_member_active(uow, guild_id=guild, user_id=member(30), active=False)
        await uow.commit()

    def rows(html: str) -> list[str]:
        return re.findall(r'<tr data-member="(\d+)">', html)

    first = (await admin.get(f"{G}/members")).text
    assert rows(first) == [member(n) for n in range(29, 4, -1)]
    assert "29 members" in first
    second = (await admin.get(f"{G}/members", params={"page": "2"})).text
    assert rows(second) == [member(n) for n in range(4, 0, -1)]
    inactive = (await admin.get(f"{G}/members", params={"status": "inactive"})).text
    assert rows(inactive) == [member(30)]
    assert "left 2026-03-14" in inactive
    oldest = (await admin.get(f"{G}/members", params={"sort": "oldest", "status": "all"})).text
    assert rows(oldest)[:2] == [member(1), member(2)]
    search = (await admin.get(f"{G}/members", params={"q": member(2)[:-1]})).text
    assert sorted(rows(search)) == sorted(member(n) for n in range(1, 10))
    exact = (await admin.get(f"{G}/members", params={"q": member(17)})).text
    assert rows(exact) == [member(17)]
    # Unknown sorts and filters fall back to the defaults; a page that is no page is refused.
    odd = await admin.get(f"{G}/members", params={"sort": "x", "status": "y"})
    assert rows(odd.text) == rows(first)
    no_page = await admin.get(f"{G}/members", params={"page": "-1"})
    assert no_page.status_code == 400
    assert "Page must be a whole number from 1" in no_page.text


async def test_member_page_and_adjustments_write_ledger_rows(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await send(services, guild, member(1), member(2), 30, reason="lunch")
    page = (await admin.get(f"{G}/members/{member(1)}")).text
    assert re.search(r'data-stat="balance"[^>]*>70<', page)
    assert "lunch" in page
    adjust = f"{G}/members/{member(1)}/adjust"
    response = await _post(admin, adjust, {"action": "add", "amount": "50", "reason": "prize"})
    assert response.status_code == 303
    shown = (await admin.get(response.headers["location"])).text
    assert "Balance is now 120" in shown
    assert re.search(r'data-stat="balance"[^>]*>120<', shown)
    async with unit_of_work(services, read_only=True) as uow:
        [row] = await reports.list_transactions(uow, guild_id=guild, type="admin_adjust")
    assert (row.amount, row.reason, row.actor_id) == (50, "prize", "local:admin")
    assert {(e.user_id, e.amount, e.balance_after) for e in row.entries} == {
        ("mint", -50, row.entries[0].balance_after),
        (member(1), 50, 120),
    }
    assert f'data-transaction-id="{row.id}"' in shown

    set_to = await _post(admin, adjust, {"action": "set", "amount": "7", "reason": "reset"})
    assert set_to.status_code == 303
    assert (await balance_view(services, guild, member(1))).balance == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "remove", "amount": "500", "reason": "fine"}, "insufficient balance"),
        ({"action": "add", "amount": "5", "reason": "  "}, "reason is required"),
        ({"action": "add", "amount": "-5", "reason": "x"}, "must be positive"),
        ({"action": "add", "amount": "5.5", "reason": "x"}, "Enter a whole number"),
        ({"action": "add", "amount": "0", "reason": "x"}, "must be positive"),
        ({"action": "steal", "amount": "5", "reason": "x"}, "add, remove or set"),
        ({"action": "add", "amount": "5", "reason": "x" * 201}, "limited to 200"),
    ],
)
async def test_refused_adjustments_explain_and_change_nothing(
    admin: httpx.AsyncClient, services: Services, guild: str, data: dict[str, str], message: str
) -> None:
    await open_account(services, guild, member(1))
    before = await db_snapshot(services)
    response = await _post(admin, f"{G}/members/{member(1)}/adjust", data)
    assert response.status_code == 400
    assert message in response.text
    assert await db_snapshot(services) == before


async def test_transactions_filter_and_page(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    for _ in range(25):
        await send(services, guild, member(1), member(2), 1)
    clock.advance(days=2)
    for _ in range(30):
        await send(services, guild, member(2), member(3), 1)

    def ids(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'<tr data-transaction-id="(\d+)">', html)]

    first = (await admin.get(f"{G}/transactions")).text
    assert "58 transactions" in first
    assert ids(first) == list(range(58, 8, -1))
    second = (await admin.get(f"{G}/transactions", params={"page": "2"})).text
    assert ids(second) == list(range(8, 0, -1))
    assert "data-live-rows" in first
    assert "data-live-rows" not in second
    transfers = (await admin.get(f"{G}/transactions", params={"type": "transfer"})).text
    assert "55 transactions" in transfers
    of_one = (await admin.get(f"{G}/transactions", params={"user": member(1)})).text
    assert "26 transactions" in of_one
    day = await admin.get(f"{G}/transactions", params={"start": "2026-03-16", "end": "2026-03-16"})
    assert "31 transactions" in day.text
    before = (await admin.get(f"{G}/transactions", params={"end": "2026-03-15"})).text
    assert "27 transactions" in before
    bad = (await admin.get(f"{G}/transactions", params={"start": "yesterday", "user": "me"})).text
    assert "From must be a date" in bad
    assert "User: Enter a Discord user id" in bad
    assert "58 transactions" in bad


async def test_csv_export_streams_every_filtered_row(
    admin: httpx.AsyncClient, services: Services, guild: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transaction_pages, "EXPORT_BATCH", 2)  # several batches
    await send(services, guild, member(1), member(2), 5, reason='=HYPERLINK("http://x")')
    await send(services, guild, member(2), member(1), 3, reason="thanks, friend")
    await fund(services, guild, member(3), 40)
    response = await admin.get(f"{G}/transactions.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [6, 5, 4, 3, 2, 1]
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[4] | {"created_at": ""} == {
        "id": "4",
        "created_at": "",
        "type": "transfer",
        "amount": "3",
        "from_user_ids": member(2),
        "to_user_ids": member(1),
        "reason": "thanks, friend",
        "actor_id": member(2),
        "reverses_id": "",
        "from_names": "",  # no bot token here: names need Discord
        "to_names": "",
        "actor_name": "",
    }
    assert by_id[3]["reason"] == '\'=HYPERLINK("http://x")'  # not a formula in a spreadsheet
    assert by_id[6]["type"] == "admin_adjust"
    assert by_id[6]["from_user_ids"] == member(3)
    assert by_id[6]["to_user_ids"] == "mint"
    assert by_id[1]["created_at"].startswith("2026-03-14T12:00:00")
    filtered = await admin.get(f"{G}/transactions.csv", params={"type": "transfer"})
    assert [r["id"] for r in csv.DictReader(io.StringIO(filtered.text))] == ["4", "3"]
    page = (await admin.get(f"{G}/transactions", params={"type": "transfer"})).text
    assert f'href="{G}/transactions.csv?type=transfer"' in page


async def test_reversal_needs_confirmation_and_happens_once(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    result = await send(services, guild, member(1), member(2), 30)
    path = f"{G}/transactions/{result.id}/reverse"
    before = await db_snapshot(services)
    unconfirmed = await _post(admin, path, {"reason": "mistake"})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.text
    no_reason = await _post(admin, path, {"reason": "", "confirm": "yes"})
    assert no_reason.status_code == 400
    assert await db_snapshot(services) == before

    done = await _post(admin, path, {"reason": "mistake", "confirm": "yes"})
    assert done.status_code == 303
    reversal = (await admin.get(done.headers["location"])).text
    assert f"Transaction #{result.id} was reversed by" in reversal
    assert f'href="{G}/transactions/{result.id}">#{result.id}</a>' in reversal
    assert (await balance_view(services, guild, member(1))).balance == 100
    original = (await admin.get(f"{G}/transactions/{result.id}")).text
    assert "Reversed by" in original
    assert "Reverse this transaction" not in original
    again = await _post(admin, path, {"reason": "again", "confirm": "yes"})
    assert again.status_code == 400
    assert "already been reversed" in again.text
    missing = await _post(admin, f"{G}/transactions/999/reverse", {"reason": "x", "confirm": "yes"})
    assert missing.status_code == 404


async def test_integrity_page_reports_the_ledger_state(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await send(services, guild, member(1), member(2), 30)
    ok = (await admin.get(f"{G}/integrity")).text
    assert 'data-integrity="ok"' in ok
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild, Account.user_id == member(1))
            .values(balance=1000)
        )
        await uow.commit()
    broken = (await admin.get(f"{G}/integrity")).text
    assert 'data-integrity="problems"' in broken
    assert "balance_mismatch" in broken
    assert "guild_total_nonzero" in broken


async def test_settings_change_is_seen_by_readers_of_the_same_process(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        assert (await get_config(uow, guild)).daily_amount == 10
        await uow.commit()
    response = await _post(admin, f"{G}/settings", {**SETTINGS, "daily_amount": "77"})
    assert response.status_code == 303
    async with unit_of_work(services, read_only=True) as uow:
        assert (await get_config(uow, guild)).daily_amount == 77
