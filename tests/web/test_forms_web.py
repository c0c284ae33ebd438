"""The dashboard's forms read numbers and text as the API does, on SQLite and PostgreSQL.

Numbers: ASCII digits only. Python's ``int()`` reads other scripts' digits, so the member
adjustment used to add 12 for a full-width ``１２`` (and a squad's switch cost became 12)
where the API refuses ``"１２"``. Text: a control character is a form error next to the
field, never a 500 (PostgreSQL) or a stored NUL (SQLite). Settings whose daily award would
pass the bound of money say so next to the daily amount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape

import httpx
import pytest

from guildbank.core.limits import MAX_AMOUNT
from guildbank.platform.uow import Services
from guildbank.web.forms import parse_whole, text_problem
from guildbank.web.paging import Paging
from tests.conftest import GUILD_ID
from tests.factories import db_snapshot, member, open_account
from tests.web.helpers import SETTINGS_FORM, page_csrf

G = f"/admin/guilds/{GUILD_ID}"
FULL_WIDTH_12 = "\uff11\uff12"
SQUAD = {"name": "Reds", "role_id": "600000000000000001", "switch_cost": "25", "is_active": "1"}


def _field_errors(html: str) -> dict[str, str]:
    found = re.findall(r'id="(?:n-)?(\w+)-error" role="alert">([^<]+)<', html)
    return {name: unescape(message) for name, message in found}


async def _post(client: httpx.AsyncClient, path: str, data: Mapping[str, str]) -> httpx.Response:
    token = await page_csrf(client, f"{G}/settings")
    return await client.post(path, data={**data, "csrf_token": token})


@pytest.mark.parametrize(
    "raw", [FULL_WIDTH_12, "\u0661\u0662", "1_000", "+5", "1.0", "", "12345678901234567"]
)
def test_only_ascii_digits_make_a_number(raw: str) -> None:
    assert parse_whole(raw) is None


def test_numbers_and_text_as_the_api_reads_them() -> None:
    assert parse_whole(" 42 ") == 42
    assert parse_whole("-7") == -7
    assert parse_whole(str(MAX_AMOUNT)) == MAX_AMOUNT
    assert Paging.parse(FULL_WIDTH_12, 10).number == 1
    assert text_problem("fine, thanks") is None
    assert text_problem("a\x00b") == "Remove the control character (U+0000)."
    assert text_problem("two\nlines") is not None
    assert text_problem("two\r\nlines\tok", multiline=True) is None


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (FULL_WIDTH_12, "prize", "Amount: Enter a whole number."),
        ("\u0661\u0662", "prize", "Amount: Enter a whole number."),
        ("12", "pri\x00ze", "Remove the control character (U+0000)."),
        ("12", "line\nbreak", "Remove the control character (U+000A)."),
    ],
)
async def test_an_adjustment_refuses_foreign_digits_and_control_characters(
    admin: httpx.AsyncClient,
    services: Services,
    guild: str,
    amount: str,
    reason: str,
    message: str,
) -> None:
    await open_account(services, guild, member(1))
    before = await db_snapshot(services)
    response = await _post(
        admin,
        f"{G}/members/{member(1)}/adjust",
        {"action": "add", "amount": amount, "reason": reason},
    )
    assert response.status_code == 400
    assert message in unescape(response.text)
    assert await db_snapshot(services) == before


async def test_the_settings_form_refuses_control_characters_and_foreign_digits(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await db_snapshot(services)
    response = await _post(
        admin,
        f"{G}/settings",
        {**SETTINGS_FORM, "currency_name": "co\x00ins", "daily_amount": FULL_WIDTH_12},
    )
    assert response.status_code == 400
    errors = _field_errors(response.text)
    assert errors["currency_name"] == "Remove the control character (U+0000)."
    assert errors["daily_amount"] == "Enter a whole number."
    assert await db_snapshot(services) == before


async def test_the_settings_form_names_the_bound_of_a_daily_award(
    admin: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await db_snapshot(services)
    response = await _post(
        admin,
        f"{G}/settings",
        {
            **SETTINGS_FORM,
            "daily_amount": str(10**12),
            "streak_days": "1",
            "streak_multiplier": str(10**6),
        },
    )
    assert response.status_code == 400
    assert str(MAX_AMOUNT) in _field_errors(response.text)["daily_amount"]
    assert await db_snapshot(services) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("switch_cost", FULL_WIDTH_12, "Enter a whole number."),
        ("name", "Re\x1bds", "Remove the control character (U+001B)."),
        ("description", "fast\x00loud", "Remove the control character (U+0000)."),
    ],
)
async def test_the_squad_form_refuses_foreign_digits_and_control_characters(
    admin: httpx.AsyncClient,
    services: Services,
    guild: str,
    field: str,
    value: str,
    message: str,
) -> None:
    before = await db_snapshot(services)
    token = await page_csrf(admin, f"{G}/squads")
    response = await admin.post(f"{G}/squads", data={**SQUAD, field: value, "csrf_token": token})
    assert response.status_code == 400
    assert _field_errors(response.text)[field] == message
    assert await db_snapshot(services) == before
