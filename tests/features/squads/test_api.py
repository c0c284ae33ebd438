"""Squads over HTTP (SPEC §5, §10) on both backends: seed scenarios, errors, auth, idempotency."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from guildbank.bot.transport import ApiError
from guildbank.platform.uow import Services
from guildbank.runtime.client import GuildbankClient
from tests.conftest import OTHER_GUILD_ID, make_api_key
from tests.factories import db_snapshot, error_of, fund, member, open_account

ALICE, BOB = member(1), member(2)


def url(guild: str, path: str = "") -> str:
    return f"/api/guilds/{guild}/squads{path}"


def role(n: int) -> str:
    return str(600000000000000000 + n)


async def create(api: httpx.AsyncClient, guild: str, name: str, n: int, **fields: Any) -> Any:
    response = await api.post(url(guild), json={"role_id": role(n), "name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def join(api: httpx.AsyncClient, guild: str, squad_id: int, user: str, **kw: Any) -> Any:
    return await api.post(url(guild, f"/{squad_id}/join"), json={"user_id": user}, **kw)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_seed_scenarios_free_first_join_paid_switch_and_insufficient(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await create(api, guild, "Red", 1)
    blue = await create(api, guild, "Blue", 2)
    gold = await create(api, guild, "Gold", 3, switch_cost=100)
    await fund(services, guild, ALICE, 500)
    await fund(services, guild, BOB, 25)

    first = ok(await join(api, guild, red["id"], ALICE))
    assert (first["cost"], first["balance"], first["role_added"], first["role_removed"]) == (
        0,
        500,
        role(1),
        None,
    )
    switch = ok(await join(api, guild, blue["id"], ALICE))
    assert (switch["cost"], switch["balance"], switch["role_removed"]) == (50, 450, role(1))
    assert switch["squad"]["name"] == "Blue"

    ok(await join(api, guild, red["id"], BOB))
    before = await db_snapshot(services)
    body = error_of(await join(api, guild, gold["id"], BOB), 400, "insufficient_balance")
    assert "insufficient" in body["detail"]
    assert (body["available"], body["needed"]) == (25, 100)
    assert await db_snapshot(services) == before
    assert ok(await api.get(url(guild, f"/members/{BOB}")))["squad"]["id"] == red["id"]

    report = ok(await api.get(f"/api/guilds/{guild}/bytes/integrity"))
    assert report["ok"], report["problems"]


async def test_crud_and_reads(api: httpx.AsyncClient, guild: str, services: Services) -> None:
    red = await create(api, guild, "Red", 1, description="Reds", emoji="🔴", max_members=3)
    assert {k: red[k] for k in ("switch_cost", "is_active", "member_count", "guild_id")} == {
        "switch_cost": 50,
        "is_active": True,
        "member_count": 0,
        "guild_id": guild,
    }
    blue = await create(api, guild, "Blue", 2, is_active=False)
    await fund(services, guild, ALICE, 300)
    ok(await join(api, guild, red["id"], ALICE))

    listed = ok(await api.get(url(guild)))
    assert [(s["name"], s["member_count"], s["is_member"]) for s in listed] == [("Red", 1, None)]
    everything = ok(await api.get(url(guild), params={"include_inactive": True, "user_id": ALICE}))
    assert [(s["name"], s["is_member"], s["join_cost"]) for s in everything] == [
        ("Blue", False, 50),
        ("Red", True, None),
    ]
    assert ok(await api.get(url(guild, f"/{red['id']}")))["description"] == "Reds"

    updated = ok(
        await api.put(url(guild, f"/{blue['id']}"), json={"is_active": True, "emoji": None})
    )
    assert (updated["is_active"], updated["emoji"], updated["name"]) == (True, None, "Blue")
    ok(await join(api, guild, blue["id"], BOB))

    members = ok(await api.get(url(guild, f"/{red['id']}/members")))
    assert [(m["user_id"], m["balance"]) for m in members] == [(ALICE, 300)]
    board = ok(await api.get(url(guild, "/leaderboard"), params={"limit": 5}))
    assert [(r["name"], r["members"], r["total_bytes"]) for r in board] == [
        ("Red", 1, 300),
        ("Blue", 1, 100),
    ]
    mine = ok(await api.get(url(guild, f"/members/{ALICE}")))
    assert (mine["user_id"], mine["squad"]["id"]) == (ALICE, red["id"])

    error_of(await api.delete(url(guild, f"/{red['id']}")), 409, "squad_not_empty")
    moved = ok(await api.delete(url(guild, f"/{red['id']}"), params={"move_to": blue["id"]}))
    assert (moved["members"], moved["role_id"], moved["moved_to_role_id"]) == (
        [ALICE],
        role(1),
        role(2),
    )
    kicked = ok(await api.delete(url(guild, f"/{blue['id']}"), params={"kick_members": True}))
    assert sorted(kicked["members"]) == sorted([ALICE, BOB])
    error_of(await api.get(url(guild, f"/{blue['id']}")), 404, "squad_not_found")
    assert ok(await api.get(url(guild))) == []


async def test_errors_have_the_one_shape(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    tiny = await create(api, guild, "Tiny", 1, max_members=1)
    closed = await create(api, guild, "Closed", 2, is_active=False)
    ok(await join(api, guild, tiny["id"], ALICE))
    before = await db_snapshot(services)

    error_of(await join(api, guild, tiny["id"], BOB), 409, "squad_full")
    error_of(await join(api, guild, closed["id"], BOB), 409, "squad_inactive")
    error_of(await join(api, guild, tiny["id"], ALICE), 409, "already_in_squad")
    error_of(await join(api, guild, 999_999, BOB), 404, "squad_not_found")
    error_of(await api.post(url(guild, "/leave"), json={"user_id": BOB}), 404, "not_in_squad")
    error_of(await api.get(url(guild, f"/members/{BOB}")), 404, "not_in_squad")
    error_of(await api.get(url(guild, "/999999/members")), 404, "squad_not_found")
    error_of(
        await api.post(url(guild), json={"role_id": role(1), "name": "X"}), 409, "squad_role_taken"
    )
    error_of(
        await api.post(url(guild), json={"role_id": role(9), "name": "tiny"}),
        409,
        "squad_name_taken",
    )
    error_of(await api.get(url("333333333333333333")), 404, "guild_not_found")
    error_of(await api.get(url("not-a-guild")), 404, "guild_not_found")
    assert await db_snapshot(services) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", {"role_id": "12", "name": ""}),
        ("POST", "", {"role_id": "12", "name": "x" * 101}),
        ("POST", "", {"role_id": "abc", "name": "Valid"}),
        ("POST", "", {"role_id": "12", "name": "Valid", "switch_cost": "10"}),
        ("POST", "", {"role_id": "12", "name": "Valid", "switch_cost": -1}),
        ("POST", "", {"role_id": "12", "name": "Valid", "max_members": 0}),
        ("POST", "", {"role_id": "12", "name": "Valid", "colour": "red"}),
        ("PUT", "/1", {"name": None}),
        ("PUT", "/1", {"description": "x" * 501}),
        ("POST", "/1/join", {"user_id": "0"}),
        ("POST", "/1/join", {"user_id": "99999999999999999999"}),
        ("POST", "/99999999999999999999/join", {"user_id": ALICE}),
        ("POST", "/leave", {}),
    ],
)
async def test_bad_input_is_422(
    api: httpx.AsyncClient, guild: str, method: str, path: str, body: Any
) -> None:
    error_of(await api.request(method, url(guild, path), json=body), 422, "validation_error")


async def test_scopes_guard_reads_writes_and_admin(
    app: FastAPI, guild: str, services: Services, anonymous: httpx.AsyncClient
) -> None:
    async def as_key(scopes: tuple[str, ...]) -> httpx.AsyncClient:
        token = await make_api_key(services, scopes)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        )

    async with await as_key(("read", "write", "admin")) as full:
        squad_id = (await create(full, guild, "Red", 1))["id"]
    async with await as_key(("read",)) as reader:
        ok(await reader.get(url(guild)))
        error_of(await join(reader, guild, squad_id, ALICE), 403, "forbidden")
        error_of(
            await reader.post(url(guild), json={"role_id": role(2), "name": "B"}), 403, "forbidden"
        )
    async with await as_key(("read", "write")) as writer:
        ok(await join(writer, guild, squad_id, ALICE))
        ok(await writer.post(url(guild, "/leave"), json={"user_id": ALICE}))
        error_of(await writer.put(url(guild, f"/{squad_id}"), json={"name": "X"}), 403, "forbidden")
        error_of(await writer.delete(url(guild, f"/{squad_id}")), 403, "forbidden")
    error_of(await anonymous.get(url(guild)), 401, "unauthorized")


async def test_idempotent_join_replays_and_charges_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    red = await create(api, guild, "Red", 1)
    blue = await create(api, guild, "Blue", 2)
    await fund(services, guild, ALICE, 500)
    ok(await join(api, guild, red["id"], ALICE))
    headers = {"Idempotency-Key": "switch-1"}
    first = await join(api, guild, blue["id"], ALICE, headers=headers)
    replay = await join(api, guild, blue["id"], ALICE, headers=headers)
    assert ok(first) == ok(replay)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert ok(first)["balance"] == 450
    error_of(
        await join(api, guild, red["id"], ALICE, headers=headers), 409, "idempotency_key_reused"
    )
    balance = ok(await api.get(f"/api/guilds/{guild}/bytes/balance/{ALICE}"))["balance"]
    assert balance == 450


async def test_capacity_holds_for_concurrent_http_joins(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    """The whole stack at once; 24 requests keep a shared PostgreSQL server within its limits
    (the service tests push 50 units of work)."""
    squad = await create(api, guild, "Ten", 1, max_members=10)
    users = [member(n) for n in range(100, 124)]
    for user in users:
        await open_account(services, guild, user)
    responses = await asyncio.gather(*(join(api, guild, squad["id"], u) for u in users))
    assert Counter(r.status_code for r in responses) == {200: 10, 409: 14}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"squad_full"}
    assert ok(await api.get(url(guild, f"/{squad['id']}")))["member_count"] == 10


async def test_typed_client_speaks_every_squad_endpoint(
    app: FastAPI, guild: str, services: Services
) -> None:
    client = GuildbankClient.in_process(app, await make_api_key(services))
    try:
        red = await client.create_squad(guild, role_id=role(1), name="Red", idempotency_key="c1")
        blue = await client.create_squad(guild, role_id=role(2), name="Blue", switch_cost=0)
        assert (await client.squad(guild, red.id)).name == "Red"
        assert await client.member_squad(guild, ALICE) is None
        joined = await client.join_squad(guild, red.id, ALICE, idempotency_key="j1")
        assert (joined.cost, joined.role_added) == (0, role(1))
        assert (
            await client.member_squad(guild, ALICE) or pytest.fail("no squad")
        ).squad.id == red.id
        listed = await client.squads(guild, user_id=ALICE)
        assert {s.name: s.join_cost for s in listed} == {"Blue": 0, "Red": None}
        assert [m.user_id for m in await client.squad_members(guild, red.id)] == [ALICE]
        assert [r.name for r in await client.squad_leaderboard(guild)] == ["Red", "Blue"]
        assert (await client.update_squad(guild, blue.id, {"max_members": 5})).max_members == 5
        left = await client.leave_squad(guild, ALICE, idempotency_key="l1")
        assert left.role_removed == role(1)
        assert (await client.delete_squad(guild, red.id)).members == []
        with pytest.raises(ApiError) as caught:
            await client.join_squad(guild, red.id, ALICE, idempotency_key="j2")
        assert (caught.value.status, caught.value.code) == (404, "squad_not_found")
        with pytest.raises(ApiError) as other:
            await client.squads(OTHER_GUILD_ID)
        assert other.value.code == "guild_not_found"
    finally:
        await client.aclose()
