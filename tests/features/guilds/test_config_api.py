"""``GET|PUT …/bytes/config``: partial, validated updates that take effect at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guildbank.features.guilds.rules import FEATURE_TOGGLES
from guildbank.platform.uow import Services
from tests.factories import bytes_url, db_snapshot, error_of, member

DEFAULTS = {
    "starting_balance": 100,
    "daily_amount": 10,
    "streak_bonuses": {"8": 2, "16": 4, "32": 8, "64": 16},
    "max_transfer": 1000,
    "transfer_cooldown_hours": 0,
    "confirm_threshold": 100,
    "rate_limit_per_minute": 0,  # the ``guild`` fixture turns the limit off
    "role_rewards": {},
    "currency_name": "bytes",
    "currency_emoji": "💰",
    "timezone": "UTC",
    "admin_role_ids": [],
    "moderator_role_ids": [],
    "features": dict.fromkeys(FEATURE_TOGGLES, True),
    "log_channel_id": None,
    "shop_channel_id": None,
    "task_channel_id": None,
    "version": 2,  # the ``guild`` fixture saved once
}


async def get_config(api: httpx.AsyncClient, guild: str) -> dict[str, Any]:
    response = await api.get(bytes_url(guild, "/config"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_defaults(api: httpx.AsyncClient, guild: str) -> None:
    assert await get_config(api, guild) == DEFAULTS


async def test_partial_update_changes_only_what_was_sent(
    api: httpx.AsyncClient, guild: str
) -> None:
    response = await api.put(
        bytes_url(guild, "/config"),
        json={"daily_amount": 25, "currency_name": " coins ", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 200, response.text
    expected = {
        **DEFAULTS,
        "daily_amount": 25,
        "currency_name": "coins",
        "timezone": "Europe/Berlin",
        "version": 3,
    }
    assert response.json() == expected
    assert await get_config(api, guild) == expected

    response = await api.put(bytes_url(guild, "/config"), json={"max_transfer": 50})
    assert response.json() == {**expected, "max_transfer": 50, "version": 4}
    # Nothing sent, nothing changed: no new version either.
    assert (await api.put(bytes_url(guild, "/config"), json={})).json() == {
        **expected,
        "max_transfer": 50,
        "version": 4,
    }


async def test_maps_are_replaced_and_validated(api: httpx.AsyncClient, guild: str) -> None:
    body = {"streak_bonuses": {"2": 3, "10": 100}, "role_rewards": {"444444444444444444": 500}}
    response = await api.put(bytes_url(guild, "/config"), json=body)
    assert response.status_code == 200, response.text
    config = await get_config(api, guild)
    assert config["streak_bonuses"] == {"2": 3, "10": 100}
    assert config["role_rewards"] == {"444444444444444444": 500}


async def test_changes_take_effect_immediately(api: httpx.AsyncClient, guild: str) -> None:
    await api.get(bytes_url(guild, f"/balance/{member(1)}"))  # warm the config cache
    await api.put(bytes_url(guild, "/config"), json={"starting_balance": 7, "daily_amount": 3})
    daily = (await api.post(bytes_url(guild, f"/daily/{member(1)}"))).json()
    assert daily["balance"] == 10
    await api.put(bytes_url(guild, "/config"), json={"max_transfer": 5})
    response = await api.post(
        bytes_url(guild, "/transactions"),
        json={"giver_id": member(1), "receiver_id": member(2), "amount": 6},
    )
    error_of(response, 400, "amount_over_limit")


async def test_a_rate_limit_set_over_the_api_is_enforced(
    api: httpx.AsyncClient, guild: str
) -> None:
    await api.put(bytes_url(guild, "/config"), json={"rate_limit_per_minute": 2})
    await api.put(bytes_url(guild, "/config"), json={"starting_balance": 1000})
    url = bytes_url(guild, "/transactions")
    body = {"giver_id": member(1), "receiver_id": member(2), "amount": 1}
    assert (await api.post(url, json=body)).status_code == 200
    assert (await api.post(url, json=body)).status_code == 200
    response = await api.post(url, json=body)
    error_of(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


BAD_UPDATES: list[Any] = [
    pytest.param({"daily_amount": -1}, id="negative-daily"),
    pytest.param({"starting_balance": -5}, id="negative-start"),
    pytest.param({"daily_amount": 10**30}, id="huge-daily"),
    pytest.param({"daily_amount": "lots"}, id="daily-text"),
    pytest.param({"daily_amount": 1.5}, id="daily-fraction"),
    pytest.param({"max_transfer": 0}, id="zero-max-transfer"),
    pytest.param({"transfer_cooldown_hours": -1}, id="negative-cooldown"),
    pytest.param({"confirm_threshold": 0}, id="zero-threshold"),
    pytest.param({"rate_limit_per_minute": -1}, id="negative-rate"),
    pytest.param({"streak_bonuses": {"0": 2}}, id="streak-zero-days"),
    pytest.param({"streak_bonuses": {"x": 2}}, id="streak-key-text"),
    pytest.param({"streak_bonuses": {"8": 0}}, id="streak-zero-multiplier"),
    pytest.param({"streak_bonuses": [8, 2]}, id="streak-list"),
    pytest.param({"role_rewards": {"not-a-role": 5}}, id="role-id"),
    pytest.param({"role_rewards": {"444444444444444444": 0}}, id="role-threshold"),
    pytest.param({"currency_name": ""}, id="empty-currency"),
    pytest.param({"currency_name": "   "}, id="blank-currency"),
    pytest.param({"currency_name": "x" * 33}, id="long-currency"),
    pytest.param({"timezone": ""}, id="empty-timezone"),
    pytest.param({"colour": "blue"}, id="unknown-key"),
    pytest.param({"daily_amount": 5, "dailyAmount": 5}, id="unknown-with-known"),
    pytest.param([], id="list-body"),
]


async def test_invalid_updates_are_refused_and_change_nothing(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    url = bytes_url(guild, "/config")
    before = await db_snapshot(services)
    for case in BAD_UPDATES:
        (body,) = case.values
        response = await api.put(url, json=body)
        assert response.status_code == 422, (case.id, response.text)
        error_of(response, 422, "validation_error")
    unknown = error_of(await api.put(url, json={"colour": "blue"}), 422)
    assert "colour" in unknown["detail"]
    for timezone in ("Mars/Olympus", "../../etc/passwd", "UTC+99"):
        body = error_of(await api.put(url, json={"timezone": timezone}), 400, "invalid_timezone")
        assert timezone in body["detail"]
    assert await db_snapshot(services) == before
    assert await get_config(api, guild) == DEFAULTS
