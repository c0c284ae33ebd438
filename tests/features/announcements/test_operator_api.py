"""Custom commands, the bot's presence and sync, status, operator settings and logs over
HTTP on both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
import structlog

from guildbank.core.errors import InvalidInput
from guildbank.features.announcements.logring import RING, install
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.guilds.service import OPERATOR_DEFAULTS, operator_defaults
from guildbank.platform.models.announcements import OperatorSetting
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock, make_api_key
from tests.factories import error_of
from tests.features.announcements.support import snapshot

STARTED = "2026-01-01T00:00:00Z"
NEW_GUILD = "333333333333333333"


def commands(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/commands{path}"


async def test_custom_commands_with_discords_name_rules(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    made = await api.post(commands(guild), json={"name": "rules", "response": "Be nice"})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "rules"
    listed = (await api.get(commands(guild))).json()
    assert (listed["version"], [c["name"] for c in listed["commands"]]) == (1, ["rules"])

    before = await snapshot(services)
    for name, fragment in [
        ("Rules", "lowercase"),
        ("two words", "letters"),
        ("x" * 33, "1 to 32"),
        ("daily", "bot's own"),
    ]:
        body = error_of(
            await api.post(commands(guild), json={"name": name, "response": "x"}),
            400,
            "invalid_command",
        )
        assert fragment in body["detail"], body
    error_of(await api.post(commands(guild), json={"name": "empty"}), 400, "invalid_command")
    error_of(
        await api.post(commands(guild), json={"name": "rules", "response": "again"}),
        409,
        "command_name_taken",
    )
    error_of(
        await api.post(commands(guild), json={"name": "e", "embed_id": 99}), 404, "embed_not_found"
    )
    assert await snapshot(services) == before

    gone = await api.delete(commands(guild, "/rules"))
    assert gone.status_code == 200, gone.text
    listed = (await api.get(commands(guild))).json()
    assert (listed["version"], listed["commands"]) == (2, [])
    error_of(await api.delete(commands(guild, "/rules")), 404, "command_not_found")


async def test_a_command_answering_with_an_embed_keeps_it(
    api: httpx.AsyncClient, guild: str
) -> None:
    embed = (
        await api.post(f"/api/guilds/{guild}/embeds", json={"name": "E", "embed": {"title": "Hi"}})
    ).json()
    await api.post(commands(guild), json={"name": "hi", "embed_id": embed["id"]})
    [command] = (await api.get(commands(guild))).json()["commands"]
    assert command["embed"] == {"title": "Hi"}
    body = error_of(
        await api.delete(f"/api/guilds/{guild}/embeds/{embed['id']}"), 409, "embed_in_use"
    )
    assert body["commands"] == ["hi"]


async def test_presence_is_stored_versioned_and_validated(
    api: httpx.AsyncClient, services: Services
) -> None:
    first = (await api.get("/api/bot/status")).json()
    assert (first["status"], first["version"]) == ("online", 0)
    put = await api.put(
        "/api/bot/status",
        json={"status": "dnd", "activity_type": "watching", "activity_text": "the ledger"},
    )
    assert put.status_code == 200, put.text
    got = (await api.get("/api/bot/status")).json()
    assert (got["status"], got["activity_type"], got["activity_text"], got["version"]) == (
        "dnd",
        "watching",
        "the ledger",
        1,
    )
    before = await snapshot(services)
    error_of(await api.put("/api/bot/status", json={"status": "sleepy"}), 422)
    error_of(
        await api.put("/api/bot/status", json={"status": "idle", "expected_version": 5}),
        409,
        "stale_version",
    )
    assert await snapshot(services) == before


async def test_guild_keys_cannot_touch_operator_routes(
    app: object, services: Services, guild: str
) -> None:
    from guildbank.platform.apikeys import create_api_key  # noqa: PLC0415
    from guildbank.platform.uow import unit_of_work  # noqa: PLC0415

    async with unit_of_work(services) as uow:
        _, token = await create_api_key(
            uow, name="g", scopes=("read", "write", "admin"), guild_ids=[guild]
        )
        await uow.commit()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://t",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        error_of(await client.put("/api/bot/status", json={"status": "idle"}), 403)
        error_of(await client.get("/api/logs"), 403)
    reader = await make_api_key(services, scopes=("read",))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://t",
        headers={"Authorization": f"Bearer {reader}"},
    ) as client:
        error_of(await client.post("/api/bot/restart"), 403)


async def test_sync_answers_changes_and_waits_for_them(api: httpx.AsyncClient, guild: str) -> None:
    base = {"owner": "bot-a", "shard_ids": [0], "started_at": STARTED, "guild_count": 3}
    now = (await api.post("/api/bot/sync", json=base)).json()
    assert (now["presence"]["version"], now["restart_version"]) == (0, 0)

    # Up to date: the long poll waits, and a presence change wakes it.
    waiting = asyncio.create_task(
        api.post(
            "/api/bot/sync",
            json={**base, "presence_version": 0, "restart_version": 0, "wait_seconds": 8},
        )
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await api.put("/api/bot/status", json={"status": "idle"})
    woke = (await asyncio.wait_for(waiting, 5)).json()
    assert (woke["presence"]["status"], woke["presence"]["version"]) == ("idle", 1)

    await api.post(commands(guild), json={"name": "hello", "response": "hi"})
    changed = await api.post(
        "/api/bot/sync", json={**base, "presence_version": 1, "command_versions": {guild: 0}}
    )
    assert changed.json()["command_guilds"] == [guild]
    same = await api.post(
        "/api/bot/sync", json={**base, "presence_version": 1, "command_versions": {guild: 1}}
    )
    assert same.json()["command_guilds"] == []

    restarted = (await api.post("/api/bot/restart")).json()["restart_version"]
    assert restarted == 1
    assert (await api.post("/api/bot/sync", json=base)).json()["restart_version"] == 1


async def test_status_per_shard_uptime_guilds_backlog(
    api: httpx.AsyncClient, guild: str, clock: FakeClock
) -> None:
    idle = (await api.get("/api/status")).json()
    assert (idle["online"], idle["shards"], idle["uptime_seconds"]) == (False, [], None)
    started = (clock.now - timedelta(minutes=10)).isoformat()
    for owner, shards, guilds in (("bot-a", [0, 1], 5), ("bot-b", [2], 7)):
        await api.post(
            "/api/bot/sync",
            json={
                "owner": owner,
                "shard_ids": shards,
                "started_at": started,
                "guild_count": guilds,
            },
        )
    await api.post(
        f"/api/guilds/{guild}/announcements",
        json={"channel_id": "700000000000000001", "content": "x"},
    )
    status = (await api.get("/api/status")).json()
    assert status["online"] is True
    assert [(s["shard_id"], s["owner"], s["online"]) for s in status["shards"]] == [
        (0, "bot-a", True),
        (1, "bot-a", True),
        (2, "bot-b", True),
    ]
    assert status["uptime_seconds"] == 600
    assert status["guild_count"] == 12
    assert status["outbox_pending"] == 1
    clock.advance(minutes=1)
    later = (await api.get("/api/status")).json()
    assert later["online"] is False
    assert {s["online"] for s in later["shards"]} == {False}


async def test_operator_defaults(api: httpx.AsyncClient, services: Services) -> None:
    got = (await api.get("/api/settings")).json()
    assert (got["defaults"]["currency_name"], got["version"]) == ("bytes", 0)
    put = await api.put(
        "/api/settings",
        json={"defaults": {**got["defaults"], "currency_name": "coins", "starting_balance": 50}},
    )
    assert put.status_code == 200, put.text
    got = (await api.get("/api/settings")).json()
    assert (got["defaults"]["currency_name"], got["defaults"]["starting_balance"]) == ("coins", 50)
    before = await snapshot(services)
    error_of(
        await api.put("/api/settings", json={"defaults": {"starting_balance": -1}}),
        422,
        "validation_error",
    )
    error_of(
        await api.put("/api/settings", json={"defaults": {}, "expected_version": 7}),
        409,
        "stale_version",
    )
    assert await snapshot(services) == before


async def test_operator_defaults_are_the_settings_of_guilds_registered_later(
    api: httpx.AsyncClient, guild: str
) -> None:
    defaults = {
        "currency_name": "coins",
        "currency_emoji": "🪙",
        "starting_balance": 250,
        "daily_amount": 25,
        "streak_bonuses": {"5": 3, "10": 6},
    }
    assert (await api.put("/api/settings", json={"defaults": defaults})).status_code == 200
    created = await api.put(f"/api/guilds/{NEW_GUILD}", json={"name": "Later"})
    assert created.status_code in (200, 201), created.text
    settings = (await api.get(f"/api/guilds/{NEW_GUILD}/settings")).json()
    assert {k: settings[k] for k in defaults} == defaults
    # A guild registered before keeps its own settings.
    older = (await api.get(f"/api/guilds/{guild}/settings")).json()
    assert (older["currency_name"], older["starting_balance"]) == ("bytes", 100)


def test_operator_defaults_a_guild_could_not_have_are_refused() -> None:
    assert operator_defaults({}) == EconomyConfig()
    assert operator_defaults({"streak_bonuses": {"3": 2}}).streak_bonuses == {3: 2}
    for bad in ({"daily_amount": -1}, {"starting_balance": "lots"}, {"streak_bonuses": {"x": 2}}):
        with pytest.raises(InvalidInput) as refused:
            operator_defaults(bad)
        assert refused.value.code == "invalid_setting"


async def test_stored_defaults_that_no_longer_pass_fall_back_to_the_built_in_ones(
    api: httpx.AsyncClient, services: Services
) -> None:
    async with unit_of_work(services) as uow:
        uow.session.add(
            OperatorSetting(
                name=OPERATOR_DEFAULTS,
                value={"currency_name": "old", "daily_amount": -1},
                version=1,
                updated_at=uow.now,
            )
        )
        await uow.commit()
    created = await api.put(f"/api/guilds/{NEW_GUILD}", json={"name": "Later"})
    assert created.status_code in (200, 201), created.text
    settings = (await api.get(f"/api/guilds/{NEW_GUILD}/settings")).json()
    assert (settings["currency_name"], settings["daily_amount"]) == ("bytes", 10)


async def test_logs_ring_redacts_secrets_and_filters_by_level(api: httpx.AsyncClient) -> None:
    install()
    RING.clear()
    log = structlog.get_logger("test")
    log.info("connecting", dsn="postgresql://user:hunter2@db/x", token="abc")
    log.warning("odd header", header="Bearer sk_live_0123456789abcdef")
    log.error("boom", url="postgresql://user:hunter2@db/x")
    lines = (await api.get("/api/logs")).json()["lines"]
    text = str(lines)
    assert "hunter2" not in text
    assert "sk_live_0123456789abcdef" not in text
    assert "abc" not in [line.get("token") for line in lines]
    assert [line["event"] for line in lines][-3:] == ["connecting", "odd header", "boom"]
    errors = (await api.get("/api/logs", params={"level": "error"})).json()["lines"]
    assert [line["event"] for line in errors] == ["boom"]
    assert (await api.delete("/api/logs")).json()["cleared"] >= 3
    assert (await api.get("/api/logs")).json()["lines"] == []


async def test_control_characters_are_refused_in_commands(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await snapshot(services)
    error_of(
        await api.post(
            commands(guild), json={"name": "x", "description": "a\u0000b", "response": "y"}
        ),
        422,
    )
    error_of(
        await api.post(commands(guild), json={"name": "x", "response": "bell\u0007"}),
        422,
    )
    assert await snapshot(services) == before
