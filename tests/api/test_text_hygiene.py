"""Free text through the API on both backends: NUL and the other control characters (and lone
surrogates) are refused with a 422 naming the character, for every free-text field; newline
and tab only where the text is multi-line (a squad's description). Before this, a NUL answered
500 on PostgreSQL (which cannot store one) and was stored on SQLite.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.factories import bytes_url, db_snapshot, error_of, fund, member, open_account, send

SQUADS = "/squads"
ROLE = "600000000000000001"
# (method, path under /api/guilds/{guild}, body with {bad} where the text goes).
FIELDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "transfer reason": (
        "POST",
        "/bytes/transactions",
        {"giver_id": member(1), "receiver_id": member(2), "amount": 1, "reason": "{bad}"},
    ),
    "transfer username": (
        "POST",
        "/bytes/transactions",
        {"giver_id": member(1), "receiver_id": member(2), "amount": 1, "giver_username": "{bad}"},
    ),
    "daily username": ("POST", f"/bytes/daily/{member(1)}", {"username": "{bad}"}),
    "adjust reason": (
        "POST",
        "/bytes/adjust",
        {"user_id": member(1), "action": "add", "amount": 5, "reason": "{bad}"},
    ),
    "reverse reason": ("POST", "/bytes/transactions/{tx}/reverse", {"reason": "{bad}"}),
    "guild name": ("PUT", "", {"name": "{bad}"}),
    "currency name": ("PUT", "/bytes/config", {"currency_name": "{bad}"}),
    "currency emoji": ("PUT", "/bytes/config", {"currency_emoji": "{bad}"}),
    "timezone": ("PUT", "/bytes/config", {"timezone": "{bad}"}),
    "squad name": ("POST", SQUADS, {"role_id": ROLE, "name": "{bad}"}),
    "squad emoji": ("POST", SQUADS, {"role_id": ROLE, "name": "Reds", "emoji": "{bad}"}),
    "squad description": (
        "POST",
        SQUADS,
        {"role_id": ROLE, "name": "Reds", "description": "{bad}"},
    ),
    "squad rename": ("PUT", f"{SQUADS}/{{squad}}", {"name": "{bad}"}),
}
# Refused in every field; the multi-line description takes newline and tab.
ALWAYS_BAD = {"NUL": "a\x00b", "escape": "a\x1b[31mb", "DEL": "a\x7f", "C1": "a\x85b"}
SINGLE_LINE_BAD = {"newline": "first\nsecond", "tab": "a\tb", "carriage return": "a\rb"}


def _body(template: dict[str, Any], bad: str) -> str:
    """The JSON body with ``bad`` in place (as json.dumps escapes it: valid JSON text)."""
    return json.dumps(template).replace(json.dumps("{bad}")[1:-1], json.dumps(bad)[1:-1])


@pytest.fixture
async def ready(api: httpx.AsyncClient, services: Services, guild: str) -> dict[str, str]:
    """Members with money, a transaction to reverse and a squad to rename."""
    await fund(services, guild, member(1), 500)
    await open_account(services, guild, member(2))
    sent = await send(services, guild, member(1), member(2), 5)
    squad = await api.post(
        f"/api/guilds/{guild}{SQUADS}", json={"role_id": "600000000000000009", "name": "Blues"}
    )
    assert squad.status_code == 201, squad.text
    return {"tx": str(sent.id), "squad": str(squad.json()["id"])}


def _cases() -> list[Any]:
    cases = [
        pytest.param(field, bad, id=f"{field}-{name}")
        for field in FIELDS
        for name, bad in ALWAYS_BAD.items()
    ]
    cases += [
        pytest.param(field, bad, id=f"{field}-{name}")
        for field in FIELDS
        if field != "squad description"
        for name, bad in SINGLE_LINE_BAD.items()
    ]
    return cases


async def test_control_characters_are_422_in_every_free_text_field(
    api: httpx.AsyncClient, services: Services, guild: str, ready: dict[str, str]
) -> None:
    """Every field and character in one database per backend (each case named on failure)."""
    before = await db_snapshot(services)
    failures = []
    for case in _cases():
        field, bad = case.values
        method, path, template = FIELDS[field]
        response = await api.request(
            method,
            f"/api/guilds/{guild}{path.format(**ready)}",
            content=_body(template, bad),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 422 or '"control_character"' not in response.text:
            failures.append((case.id, response.status_code, response.text[:200]))
    assert failures == []
    assert await db_snapshot(services) == before


async def test_the_refusal_names_the_field_and_the_character(
    api: httpx.AsyncClient, guild: str
) -> None:
    response = await api.post(
        bytes_url(guild, "/transactions"),
        json={"giver_id": member(1), "receiver_id": member(2), "amount": 1, "reason": "a\x00"},
    )
    body = error_of(response, 422, "validation_error")
    assert body["errors"] == [
        {
            "loc": ["body", "reason"],
            "msg": "Control characters are not allowed here (found U+0000)",
            "type": "control_character",
        }
    ]


async def test_a_lone_surrogate_is_refused_not_a_500(api: httpx.AsyncClient, guild: str) -> None:
    """JSON can spell half of a UTF-16 pair; no UTF-8 database can store it (the JSON parser
    refuses it before the text rule, which also refuses one arriving otherwise)."""
    response = await api.put(
        f"/api/guilds/{guild}",
        content=b'{"name": "a\\ud800b"}',
        headers={"Content-Type": "application/json"},
    )
    assert error_of(response, 422)["errors"][0]["loc"] == ["body", "name"]


async def test_a_description_keeps_its_lines_and_emoji_keep_their_joiners(
    api: httpx.AsyncClient, guild: str
) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by U+200D: not a control
    response = await api.post(
        f"/api/guilds/{guild}{SQUADS}",
        json={
            "role_id": ROLE,
            "name": "Reds",
            "emoji": family,
            "description": "Line one\r\n\tLine two",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "Line one\n\tLine two"  # CRLF kept as a newline
    assert response.json()["emoji"] == family


async def test_a_control_character_in_a_query_is_422(api: httpx.AsyncClient, guild: str) -> None:
    response = await api.get(bytes_url(guild, "/transactions"), params={"type": "transfer\x00"})
    assert error_of(response, 422)["errors"][0]["type"] == "control_character"
