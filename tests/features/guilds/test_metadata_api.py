"""The channels and roles the bot reports (``…/metadata``, ``…/channels/{id}``, ``…/roles/{id}``)
and the checks they enable: settings and squads naming a channel or role the guild does not
have, another guild's channel, or a role the bot cannot grant are refused, with codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.conftest import OTHER_GUILD_ID, make_api_key
from tests.factories import bytes_url, db_snapshot, error_of

GENERAL, LOGS, VOICE, ELSEWHERE = (
    "700000000000000001",
    "700000000000000002",
    "700000000000000003",
    "700000000000000009",
)
LOW, HIGH, BOT, INTEGRATION = (
    "800000000000000001",
    "800000000000000002",
    "800000000000000003",
    "800000000000000004",
)


def metadata(guild: str) -> dict[str, Any]:
    """A guild as the bot reports it: two text channels, a voice one; the bot's role at 5."""
    return {
        "channels": [
            {"id": GENERAL, "name": "general", "type": 0, "position": 0},
            {"id": LOGS, "name": "bank-log", "type": 0, "position": 1},
            {"id": VOICE, "name": "Lounge", "type": 2, "position": 2},
        ],
        "roles": [
            {"id": guild, "name": "@everyone", "position": 0},
            {"id": LOW, "name": "Whale", "position": 2, "color": 0xFF0000},
            {"id": HIGH, "name": "Mods", "position": 9},
            {"id": BOT, "name": "guildbank", "position": 5, "managed": True, "bot_holds": True},
            {"id": INTEGRATION, "name": "Booster", "position": 1, "managed": True},
        ],
    }


def url(guild: str, path: str) -> str:
    return f"/api/guilds/{guild}{path}"


async def report(api: httpx.AsyncClient, guild: str, body: dict[str, Any] | None = None) -> Any:
    response = await api.put(url(guild, "/metadata"), json=body or metadata(guild))
    assert response.status_code == 200, response.text
    return response.json()


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


async def test_a_full_report_is_stored_and_replaces_the_previous_one(
    api: httpx.AsyncClient, guild: str
) -> None:
    before = (await api.get(url(guild, "/metadata"))).json()
    assert before == {"guild_id": guild, "synced": False, "channels": [], "roles": []}
    stored = await report(api, guild)
    assert stored["synced"] is True
    channels, roles = by_id(stored["channels"]), by_id(stored["roles"])
    assert (channels[GENERAL]["name"], channels[GENERAL]["postable"]) == ("general", True)
    assert channels[GENERAL]["deleted"] is False
    assert channels[VOICE]["postable"] is False
    highest_first = [HIGH, BOT, LOW, INTEGRATION, guild]
    assert [r["id"] for r in stored["roles"]] == highest_first
    assert roles[LOW]["assignable"] is True
    assert roles[HIGH]["assignable"] is False  # above the bot's own role
    assert roles[INTEGRATION]["assignable"] is False  # managed
    assert roles[guild]["assignable"] is False  # @everyone

    # The next full report lacks LOGS and HIGH: they are kept, marked deleted; renames apply.
    body = metadata(guild)
    body["channels"] = [c for c in body["channels"] if c["id"] != LOGS]
    body["roles"] = [r for r in body["roles"] if r["id"] != HIGH]
    body["roles"][1]["name"] = "Big whale"
    again = await report(api, guild, body)
    channels, roles = by_id(again["channels"]), by_id(again["roles"])
    assert channels[LOGS]["deleted"] is True
    assert channels[LOGS]["name"] == "bank-log"
    assert roles[HIGH]["deleted"] is True
    assert roles[LOW]["name"] == "Big whale"
    # Reported again, a deleted one comes back.
    assert by_id((await report(api, guild))["channels"])[LOGS]["deleted"] is False


async def test_events_upsert_and_delete_one_item_idempotently(
    api: httpx.AsyncClient, guild: str
) -> None:
    await report(api, guild)
    created = {"id": ELSEWHERE, "name": "new-channel", "type": 0, "position": 7}
    for _ in range(2):
        response = await api.put(url(guild, f"/channels/{ELSEWHERE}"), json=created)
        assert response.json() == {"id": ELSEWHERE, "deleted": False}
    renamed = {"id": LOW, "name": "Orca", "position": 3}
    assert (await api.put(url(guild, f"/roles/{LOW}"), json=renamed)).status_code == 200
    assert (await api.delete(url(guild, f"/channels/{GENERAL}"))).json() == {
        "id": GENERAL,
        "deleted": True,
    }
    # A repeated (or unknown) deletion changes nothing and says so.
    assert (await api.delete(url(guild, f"/channels/{GENERAL}"))).json()["deleted"] is False
    assert (await api.delete(url(guild, "/roles/800000000000000099"))).json()["deleted"] is False
    assert (await api.delete(url(guild, f"/roles/{HIGH}"))).json()["deleted"] is True
    stored = (await api.get(url(guild, "/metadata"))).json()
    channels, roles = by_id(stored["channels"]), by_id(stored["roles"])
    assert channels[ELSEWHERE]["name"] == "new-channel"
    assert channels[GENERAL]["deleted"] is True
    assert (roles[LOW]["name"], roles[LOW]["position"]) == ("Orca", 3)
    assert roles[HIGH]["deleted"] is True


async def test_bad_reports_are_refused(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await db_snapshot(services)
    channel = {"id": GENERAL, "name": "general", "type": 0}
    error_of(await api.put(url(guild, f"/channels/{LOGS}"), json=channel), 400, "id_mismatch")
    error_of(await api.put(url(guild, "/channels/0123"), json=channel), 422)
    error_of(
        await api.put(url(guild, f"/channels/{GENERAL}"), json={**channel, "name": "a\x00b"}), 422
    )
    error_of(await api.put(url("333333333333333333", "/metadata"), json={}), 404)
    error_of(await anonymous.put(url(guild, "/metadata"), json={}), 401)
    reader = await make_api_key(services, ("read",))
    refused = await api.put(
        url(guild, "/metadata"), json={}, headers={"Authorization": f"Bearer {reader}"}
    )
    error_of(refused, 403, "forbidden")
    assert await db_snapshot(services) == before


async def put_settings(api: httpx.AsyncClient, guild: str, **changes: Any) -> httpx.Response:
    return await api.put(url(guild, "/settings"), json=changes)


async def test_before_the_first_report_ids_are_taken_as_typed(
    api: httpx.AsyncClient, guild: str
) -> None:
    response = await put_settings(
        api,
        guild,
        log_channel_id=LOGS,
        role_rewards={HIGH: 100},
        moderator_role_ids=[LOW],
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("changes", "status", "code", "setting"),
    [
        ({"log_channel_id": "700000000000000077"}, 400, "unknown_channel", "log_channel_id"),
        ({"shop_channel_id": VOICE}, 400, "not_a_text_channel", "shop_channel_id"),
        ({"task_channel_id": ELSEWHERE}, 400, "channel_of_other_guild", "task_channel_id"),
        ({"role_rewards": {HIGH: 100}}, 409, "role_above_bot", "role_rewards"),
        ({"role_rewards": {BOT: 100}}, 409, "role_managed", "role_rewards"),
        ({"role_rewards": {"800000000000000077": 5}}, 400, "unknown_role", "role_rewards"),
        ({"admin_role_ids": ["800000000000000077"]}, 400, "unknown_role", "admin_role_ids"),
        ({"moderator_role_ids": ["GUILD"]}, 400, "unknown_role", "moderator_role_ids"),
    ],
)
async def test_ids_the_guild_does_not_back_are_refused_with_codes(
    api: httpx.AsyncClient,
    guild: str,
    services: Services,
    changes: dict[str, Any],
    status: int,
    code: str,
    setting: str,
) -> None:
    await api.put(url(OTHER_GUILD_ID, ""), json={"name": "Other"})
    other = {"channels": [{"id": ELSEWHERE, "name": "theirs", "type": 0}], "roles": []}
    await report(api, OTHER_GUILD_ID, other)
    await report(api, guild)
    if changes.get("moderator_role_ids") == ["GUILD"]:
        changes = {"moderator_role_ids": [guild]}  # @everyone
    before = await db_snapshot(services)
    body = error_of(await put_settings(api, guild, **changes), status, code)
    assert body["setting"] == setting
    assert await db_snapshot(services) == before


async def test_fitting_ids_are_accepted_and_stale_ones_do_not_block_other_changes(
    api: httpx.AsyncClient, guild: str
) -> None:
    await report(api, guild)
    response = await put_settings(
        api,
        guild,
        log_channel_id=LOGS,
        role_rewards={LOW: 50},
        admin_role_ids=[HIGH],
        moderator_role_ids=[LOW],
    )
    assert response.status_code == 200, response.text
    # The role and the channel are deleted in Discord: the settings keep them (the dashboard
    # shows them as deleted) and other changes still save.
    await api.delete(url(guild, f"/roles/{LOW}"))
    await api.delete(url(guild, f"/channels/{LOGS}"))
    saved = await put_settings(api, guild, daily_amount=3)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["role_rewards"], saved.json()["log_channel_id"]) == ({LOW: 50}, LOGS)
    # Unsetting a channel takes null.
    assert (await put_settings(api, guild, log_channel_id=None)).json()["log_channel_id"] is None


async def test_a_squad_role_must_be_one_the_bot_can_grant(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await report(api, guild)
    squads = f"/api/guilds/{guild}/squads"
    before = await db_snapshot(services)
    error_of(await api.post(squads, json={"name": "Reds", "role_id": HIGH}), 409, "role_above_bot")
    error_of(
        await api.post(squads, json={"name": "Reds", "role_id": "800000000000000077"}),
        400,
        "unknown_role",
    )
    assert await db_snapshot(services) == before
    created = await api.post(squads, json={"name": "Reds", "role_id": LOW})
    assert created.status_code == 201, created.text
    moved = await api.put(f"{squads}/{created.json()['id']}", json={"role_id": INTEGRATION})
    error_of(moved, 409, "role_managed")
    assert (await api.get(bytes_url(guild, "/config"))).status_code == 200
