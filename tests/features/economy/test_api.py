"""The seed scenarios of the bytes economy, driven over HTTP on both backends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from guildbank.api.lean import LeanRoute
from guildbank.features.economy import api as economy_api
from guildbank.platform.uow import Services
from tests.conftest import OTHER_GUILD_ID, FakeClock
from tests.factories import bytes_url, db_snapshot, error_of, fund, member


async def balance_of(api: httpx.AsyncClient, guild: str, user: str) -> dict[str, Any]:
    response = await api.get(bytes_url(guild, f"/balance/{user}"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def adjust(
    api: httpx.AsyncClient, guild: str, user: str, action: str, amount: int
) -> dict[str, Any]:
    response = await api.post(
        bytes_url(guild, "/adjust"),
        json={"user_id": user, "action": action, "amount": amount, "reason": "test"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def transfer_body(giver: str, receiver: str, amount: int, reason: str | None = None) -> Any:
    return {
        "giver_id": giver,
        "giver_username": "giver",
        "receiver_id": receiver,
        "receiver_username": "receiver",
        "amount": amount,
        "reason": reason,
    }


async def test_unknown_member_reads_as_the_starting_balance(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await db_snapshot(services)
    body = await balance_of(api, guild, member(1))
    assert body["balance"] == 100
    assert body["daily_available"] is True
    assert body["streak_count"] == 0
    assert await db_snapshot(services) == before


async def test_first_daily_pays_110_and_a_second_is_409(api: httpx.AsyncClient, guild: str) -> None:
    response = await api.post(bytes_url(guild, f"/daily/{member(1)}"))
    assert response.status_code == 200, response.text
    daily = response.json()
    assert daily["balance"] == 110
    assert daily["awarded"] == 10
    assert daily["streak_count"] == 1
    assert daily["tier"] == "NONE"
    assert daily["last_daily"] == "2026-03-14"

    body = error_of(await api.post(bytes_url(guild, f"/daily/{member(1)}")), 409, "already_claimed")
    assert "already claimed" in body["detail"]
    balance = await balance_of(api, guild, member(1))
    assert balance["balance"] == 110
    assert balance["daily_available"] is False


async def test_daily_next_day_grows_the_streak(
    api: httpx.AsyncClient, guild: str, clock: FakeClock
) -> None:
    await api.post(bytes_url(guild, f"/daily/{member(1)}"))
    clock.advance(days=1)
    response = await api.post(bytes_url(guild, f"/daily/{member(1)}"))
    assert response.status_code == 200, response.text
    assert response.json()["streak_count"] == 2
    assert response.json()["balance"] == 120


async def test_transfer_moves_bytes(api: httpx.AsyncClient, guild: str) -> None:
    await adjust(api, guild, member(1), "set", 500)
    response = await api.post(
        bytes_url(guild, "/transactions"), json=transfer_body(member(1), member(2), 100, "lunch")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transfer"
    assert (body["amount"], body["reason"]) == (100, "lunch")
    assert (body["giver_balance"], body["receiver_balance"]) == (400, 200)
    giver = await balance_of(api, guild, member(1))
    receiver = await balance_of(api, guild, member(2))
    assert (giver["balance"], giver["total_sent"]) == (400, 100)
    assert (receiver["balance"], receiver["total_received"]) == (200, 100)
    detail = await api.get(bytes_url(guild, f"/transactions/{body['id']}"))
    assert detail.status_code == 200
    assert sorted((e["user_id"], e["amount"]) for e in detail.json()["entries"]) == [
        (member(1), -100),
        (member(2), 100),
    ]


async def test_insufficient_balance_is_400_and_changes_nothing(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 40)
    before = await db_snapshot(services)
    response = await api.post(
        bytes_url(guild, "/transactions"), json=transfer_body(member(1), member(2), 100)
    )
    body = error_of(response, 400, "insufficient_balance")
    assert "insufficient balance" in body["detail"]
    assert "40" in body["detail"]
    assert "100" in body["detail"]
    assert await db_snapshot(services) == before
    assert (await balance_of(api, guild, member(1)))["balance"] == 40


async def test_insufficient_for_a_brand_new_member_opens_no_account(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    before = await db_snapshot(services)
    response = await api.post(
        bytes_url(guild, "/transactions"), json=transfer_body(member(1), member(2), 101)
    )
    error_of(response, 400, "insufficient_balance")
    assert await db_snapshot(services) == before


async def test_transfer_rules_are_400_with_their_code(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 5000)
    before = await db_snapshot(services)
    self_transfer = transfer_body(member(1), member(1), 10)
    error_of(await api.post(bytes_url(guild, "/transactions"), json=self_transfer), 400)
    too_much = transfer_body(member(1), member(2), 1001)
    body = error_of(
        await api.post(bytes_url(guild, "/transactions"), json=too_much), 400, "amount_over_limit"
    )
    assert "1000" in body["detail"]
    assert await db_snapshot(services) == before


async def test_leaderboard_orders_members_and_bounds_its_limit(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    for n, balance in ((1, 300), (2, 900), (3, 500), (4, 500)):
        await fund(services, guild, member(n), balance)
    response = await api.get(bytes_url(guild, "/leaderboard"), params={"limit": 3})
    assert response.status_code == 200, response.text
    entries = response.json()
    assert [(e["rank"], e["user_id"], e["balance"]) for e in entries] == [
        (1, member(2), 900),
        (2, member(3), 500),
        (3, member(4), 500),
    ]
    assert set(entries[0]) >= {"rank", "user_id", "balance", "total_received"}
    everyone = (await api.get(bytes_url(guild, "/leaderboard"), params={"limit": 100})).json()
    assert [e["user_id"] for e in everyone] == [member(2), member(3), member(4), member(1)]
    for bad in (0, 101, -1, "ten"):
        error_of(
            await api.get(bytes_url(guild, "/leaderboard"), params={"limit": bad}),
            422,
            "validation_error",
        )

    rank = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(1)}"))).json()
    assert (rank["rank"], rank["balance"], rank["members"]) == (4, 300, 4)
    stranger = (await api.get(bytes_url(guild, f"/leaderboard/rank/{member(9)}"))).json()
    assert (stranger["rank"], stranger["balance"]) == (None, 100)


async def test_history_lists_a_members_own_transactions(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 500)
    await api.post(bytes_url(guild, "/transactions"), json=transfer_body(member(1), member(2), 7))
    await api.post(bytes_url(guild, f"/daily/{member(3)}"))
    history = (await api.get(bytes_url(guild, f"/history/{member(2)}"))).json()
    assert [t["type"] for t in history] == ["transfer", "starting_balance"]
    assert history[0]["amount"] == 7


async def test_registering_a_guild_over_http(api: httpx.AsyncClient) -> None:
    url = f"/api/guilds/{OTHER_GUILD_ID}"
    error_of(await api.get(bytes_url(OTHER_GUILD_ID, "/config")), 404, "guild_not_found")
    first = await api.put(url, json={"name": "Other"})
    assert first.status_code == 200, first.text
    assert first.json() == {"id": OTHER_GUILD_ID, "name": "Other", "created": True}
    again = await api.put(url, json={"name": "Other"})
    assert again.json()["created"] is False
    config = await api.get(bytes_url(OTHER_GUILD_ID, "/config"))
    assert config.status_code == 200
    assert config.json()["starting_balance"] == 100
    error_of(await api.put("/api/guilds/not-a-snowflake", json={}), 400, "invalid_id")


@pytest.mark.parametrize("guild_id", ["333333333333333333", "invalid_guild", "9" * 25])
async def test_unknown_or_malformed_guild_is_404(
    api: httpx.AsyncClient, guild: str, services: Services, guild_id: str
) -> None:
    before = await db_snapshot(services)
    user = member(1)
    requests = [
        ("GET", f"/balance/{user}", None),
        ("POST", f"/daily/{user}", None),
        ("POST", "/transactions", transfer_body(user, member(2), 5)),
        ("GET", "/transactions", None),
        ("GET", "/transactions/1", None),
        ("POST", "/transactions/1/reverse", {"reason": "oops"}),
        ("GET", f"/history/{user}", None),
        ("GET", "/leaderboard", None),
        ("GET", f"/leaderboard/rank/{user}", None),
        ("GET", "/config", None),
        ("PUT", "/config", {"daily_amount": 5}),
        ("POST", "/adjust", {"user_id": user, "action": "add", "amount": 5, "reason": "x"}),
        ("GET", "/integrity", None),
    ]
    for method, path, body in requests:
        response = await api.request(method, bytes_url(guild_id, path), json=body)
        error = error_of(response, 404, "guild_not_found")
        assert "not found" in error["detail"], (path, error)
    assert await db_snapshot(services) == before


async def test_the_transfer_is_one_lean_route_documented_with_its_body(
    app: FastAPI, api: httpx.AsyncClient, guild: str
) -> None:
    """The busiest path skips FastAPI's per-request machinery and is matched before every
    router, but it is one route, documented in OpenAPI like the others."""
    path = "/api/guilds/{guild_id}/bytes/transactions"
    first = app.router.routes[0]
    assert isinstance(first, LeanRoute)
    assert first is economy_api.TRANSFER_ROUTE
    assert (first.path, first.methods) == (path, {"POST"})
    in_routers = [
        route
        for route in economy_api.router.routes
        if isinstance(route, APIRoute)
        and "POST" in (route.methods or ())
        and route.path.endswith("/transactions")
    ]
    assert in_routers == []
    operation = (await api.get("/api/openapi.json")).json()["paths"][path]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"giver_id", "receiver_id", "amount"} <= set(body["properties"])
    assert "200" in operation["responses"]
    sent = transfer_body(member(1), member(2), 5)
    response = await api.post(bytes_url(guild, "/transactions"), json=sent)
    assert response.status_code == 200, response.text
