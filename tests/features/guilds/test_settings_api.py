"""``GET|PUT /api/guilds/{id}/settings``: every guild setting with a version (``ETag`` /
``If-Match``: a stale save is refused), and feature toggles: a turned-off feature's routes
answer 409 ``feature_disabled``, the others and the settings keep working."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.conftest import make_api_key
from tests.factories import bytes_url, db_snapshot, error_of, fund, member

GENERAL = "700000000000000001"


def settings_url(guild: str) -> str:
    return f"/api/guilds/{guild}/settings"


async def toggle(api: httpx.AsyncClient, guild: str, **features: bool) -> dict[str, Any]:
    response = await api.put(settings_url(guild), json={"features": features})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_settings_carry_their_version_and_refuse_a_stale_save(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    read = await api.get(settings_url(guild))
    assert read.status_code == 200
    version = read.json()["version"]
    assert read.headers["etag"] == f'"{version}"'
    saved = await api.put(
        settings_url(guild), json={"daily_amount": 7}, headers={"If-Match": f'"{version}"'}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == version + 1
    assert saved.headers["etag"] == f'"{version + 1}"'

    # A second editor still holding the first version is refused; nothing changes.
    before = await db_snapshot(services)
    stale = await api.put(
        settings_url(guild), json={"daily_amount": 99}, headers={"If-Match": f'"{version}"'}
    )
    body = error_of(stale, 409, "stale_version")
    assert (body["expected"], body["current"]) == (version, version + 1)
    assert await db_snapshot(services) == before
    # The economy's config route honours it the same way; ``*`` and no header always apply.
    stale_too = await api.put(
        bytes_url(guild, "/config"), json={"daily_amount": 99}, headers={"If-Match": "1"}
    )
    error_of(stale_too, 409, "stale_version")
    error_of(
        await api.put(settings_url(guild), json={}, headers={"If-Match": "soon"}),
        400,
        "invalid_if_match",
    )
    forced = await api.put(settings_url(guild), json={"daily_amount": 9}, headers={"If-Match": "*"})
    assert forced.json()["daily_amount"] == 9
    assert (await api.put(settings_url(guild), json={"daily_amount": 8})).status_code == 200


async def test_staff_roles_channels_and_toggles_are_stored(
    api: httpx.AsyncClient, guild: str
) -> None:
    body = (
        await api.put(
            settings_url(guild),
            json={
                "moderator_role_ids": ["900000000000000001", "900000000000000001"],
                "log_channel_id": GENERAL,
                "task_channel_id": GENERAL,
                "features": {"shop": False, "tasks": False},
            },
        )
    ).json()
    assert body["moderator_role_ids"] == ["900000000000000001"]
    assert (body["log_channel_id"], body["shop_channel_id"], body["task_channel_id"]) == (
        GENERAL,
        None,
        GENERAL,
    )
    assert body["features"] == {
        "economy": True,
        "squads": True,
        "shop": False,
        "tasks": False,
        "announcements": True,
    }
    # Toggles not named keep their state.
    assert (await toggle(api, guild, shop=True))["features"]["tasks"] is False
    for bad in (
        {"features": {"casino": False}},
        {"features": {"shop": "maybe"}},
        {"log_channel_id": "general"},
        {"moderator_role_ids": ["x"]},
        {"version": 99},
    ):
        error_of(await api.put(settings_url(guild), json=bad), 422)


async def test_squads_off_refuses_squad_routes_only(api: httpx.AsyncClient, guild: str) -> None:
    created = await api.post(
        f"/api/guilds/{guild}/squads", json={"name": "Reds", "role_id": "900000000000000002"}
    )
    assert created.status_code == 201
    await toggle(api, guild, squads=False)
    squads = f"/api/guilds/{guild}/squads"
    for response in (
        await api.get(squads),
        await api.get(f"{squads}/leaderboard"),
        await api.post(f"{squads}/{created.json()['id']}/join", json={"user_id": member(1)}),
        await api.post(squads, json={"name": "Blues", "role_id": "900000000000000003"}),
    ):
        body = error_of(response, 409, "feature_disabled")
        assert body["feature"] == "squads"
        assert body["detail"] == "The squads feature is disabled on this server."
    assert (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).status_code == 200
    assert (await api.get(settings_url(guild))).status_code == 200
    await toggle(api, guild, squads=True)
    assert (await api.get(squads)).status_code == 200


async def test_economy_off_refuses_money_routes_the_lean_transfer_included(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 100)
    await toggle(api, guild, economy=False)
    before = await db_snapshot(services)
    transfer = {"giver_id": member(1), "receiver_id": member(2), "amount": 5}
    adjust = {"user_id": member(1), "action": "add", "amount": 5, "reason": "x"}
    for response in (
        await api.post(bytes_url(guild, "/transactions"), json=transfer),
        await api.post(bytes_url(guild, f"/daily/{member(1)}")),
        await api.get(bytes_url(guild, f"/balance/{member(1)}")),
        await api.get(bytes_url(guild, "/leaderboard")),
        await api.post(bytes_url(guild, "/adjust"), json=adjust),
        await api.post(bytes_url(guild, "/transactions/1/reverse"), json={"reason": "x"}),
    ):
        error_of(response, 409, "feature_disabled")
    assert await db_snapshot(services) == before
    # The settings stay readable and writable, through either route.
    assert (await api.get(bytes_url(guild, "/config"))).status_code == 200
    await toggle(api, guild, economy=True)
    assert (await api.post(bytes_url(guild, "/transactions"), json=transfer)).status_code == 200


@pytest.mark.parametrize("path", ["/bytes/daily/300000000000000001", "/squads/leave"])
async def test_a_toggle_never_answers_before_the_key_is_checked(
    api: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    guild: str,
    services: Services,
    path: str,
) -> None:
    await toggle(api, guild, economy=False, squads=False)
    body = {"user_id": member(1)}
    error_of(await anonymous.post(f"/api/guilds/{guild}{path}", json=body), 401)
    writer = await make_api_key(services, ("write",))
    headers = {"Authorization": f"Bearer {writer}"}
    refused = await anonymous.post(f"/api/guilds/{guild}{path}", json=body, headers=headers)
    error_of(refused, 409, "feature_disabled")
    error_of(await api.post(f"/api/guilds/333333333333333333{path}", json=body), 404)
