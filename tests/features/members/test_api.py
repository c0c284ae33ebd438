"""The members API (issue 15 items 1 and 4) on SQLite and PostgreSQL: ``/users`` (list,
detail, inactive, reactivate, cleanup), the bot's presence and name reports, and
``/economy/reset``; scopes, idempotency and refusals that change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from guildbank.platform.uow import Services
from tests.conftest import START, FakeClock, make_api_key
from tests.factories import balance_view, claim, db_snapshot, error_of, fund, member, send
from tests.features.members.helpers import integrity_ok, leave, type_counts


def url(guild: str, path: str) -> str:
    return f"/api/guilds/{guild}{path}"


async def client_with(app: FastAPI, services: Services, *scopes: str) -> httpx.AsyncClient:
    token = await make_api_key(services, scopes)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def reader(app: FastAPI, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_with(app, services, "read") as client:
        yield client


@pytest.fixture
async def writer(app: FastAPI, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_with(app, services, "read", "write") as client:
        yield client


def ids(body: dict[str, Any]) -> list[str]:
    return [m["user_id"] for m in body["members"]]


async def test_the_list_pages_sorts_filters_and_searches(
    api: httpx.AsyncClient, reader: httpx.AsyncClient, services: Services, guild: str
) -> None:
    for n, balance in ((1, 10), (2, 30), (3, 20)):
        await fund(services, guild, member(n), balance)
    await send(services, guild, member(2), member(1), 5)
    await leave(services, guild, member(3))
    response = await reader.get(url(guild, "/users"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["page"], body["per_page"], ids(body)) == (
        2,
        1,
        25,
        [member(2), member(1)],
    )
    first = body["members"][0]
    assert {k: first[k] for k in ("balance", "total_sent", "is_active", "left_at")} == {
        "balance": 25,
        "total_sent": 5,
        "is_active": True,
        "left_at": None,
    }
    assert "joined_at" in first
    everyone = (await reader.get(url(guild, "/users"), params={"include_inactive": "true"})).json()
    assert ids(everyone) == [member(2), member(3), member(1)]
    gone = (await reader.get(url(guild, "/users"), params={"status": "inactive"})).json()
    assert ids(gone) == [member(3)]
    by_received = await reader.get(url(guild, "/users"), params={"sort_by": "received"})
    assert ids(by_received.json())[0] == member(1)
    joined = await reader.get(
        url(guild, "/users"), params={"sort_by": "joined", "include_inactive": "true"}
    )
    assert ids(joined.json()) == [member(1), member(2), member(3)]
    paged = await reader.get(url(guild, "/users"), params={"per_page": 1, "page": 2})
    assert (paged.json()["pages"], ids(paged.json())) == (2, [member(1)])
    found = await reader.get(url(guild, "/users"), params={"search": member(2)[-4:]})
    assert ids(found.json()) == [member(2)]
    for bad in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"sort_by": "x"}):
        error_of(await reader.get(url(guild, "/users"), params=bad), 422)
    error_of(await reader.get(url("999999999999999999", "/users")), 404)


async def test_a_member_in_detail(
    reader: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await claim(services, guild, member(1))
    response = await reader.get(url(guild, f"/users/{member(1)}"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["balance"], body["streak_count"], body["rank"], body["squad"]) == (
        110,
        1,
        1,
        None,
    )
    assert (body["inventory"], body["tasks"]) == ([], [])
    assert [t["type"] for t in body["recent_transactions"]] == ["daily", "starting_balance"]
    error_of(await reader.get(url(guild, f"/users/{member(2)}")), 404, "member_not_found")
    error_of(await reader.get(url(guild, "/users/someone")), 404)  # an id is digits
    error_of(await reader.get(url(guild, f"/users/{'9' * 20}")), 422)  # beyond 64 bits
    # The fixed paths beside /users/{user_id} advertise only their own methods.
    for path, allowed in (("/users/cleanup", "POST"), ("/users/names", "PUT")):
        options = await reader.options(url(guild, path))
        assert options.headers["allow"] == f"{allowed}, OPTIONS"


async def test_inactive_members_and_reactivation(
    writer: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    services: Services,
    guild: str,
    clock: FakeClock,
) -> None:
    await fund(services, guild, member(1), 10)
    await fund(services, guild, member(2), 20)
    await leave(services, guild, member(1))
    clock.advance(days=3)
    await leave(services, guild, member(2))
    body = (await reader.get(url(guild, "/users/inactive"), params={"days": 2})).json()
    assert (body["days"], body["total"]) == (2, 1)
    assert body["members"][0]["user_id"] == member(1)
    assert body["members"][0]["left_at"].startswith(START.date().isoformat())
    assert body["members"][0]["days_gone"] == 3
    error_of(await reader.get(url(guild, "/users/inactive"), params={"days": -1}), 422)

    error_of(await reader.post(url(guild, f"/users/{member(1)}/reactivate")), 403)
    before = await type_counts(services, guild)
    back = await writer.post(url(guild, f"/users/{member(1)}/reactivate"))
    assert back.status_code == 200, back.text
    assert back.json() == {
        "guild_id": guild,
        "user_id": member(1),
        "active": True,
        "was_active": False,
    }
    assert (await balance_view(services, guild, member(1))).is_active
    assert await type_counts(services, guild) == before  # no new starting balance
    missing = await writer.post(url(guild, f"/users/{member(9)}/reactivate"))
    error_of(missing, 404, "member_not_found")


async def test_cleanup_dry_run_equals_the_real_run_which_needs_admin_and_replays(
    api: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    writer: httpx.AsyncClient,
    services: Services,
    guild: str,
    clock: FakeClock,
) -> None:
    for n, balance in ((1, 40), (2, 60), (3, 5)):
        await fund(services, guild, member(n), balance)
    await leave(services, guild, member(1))
    await leave(services, guild, member(2))
    clock.advance(days=31)
    cleanup = url(guild, "/users/cleanup")
    # A money tool: admin scope, the preview too.
    error_of(await reader.post(cleanup, json={"days": 30}), 403, "forbidden")
    dry = await api.post(cleanup, json={"days": 30.0})  # dry_run is the default
    assert dry.status_code == 200, dry.text
    assert (dry.json()["dry_run"], dry.json()["members"], dry.json()["amount"]) == (True, 2, 100)
    before = await db_snapshot(services)
    error_of(await writer.post(cleanup, json={"days": 30, "dry_run": False}), 403, "forbidden")
    error_of(await api.post(cleanup, json={"days": -1, "dry_run": False}), 422)
    error_of(await api.post(cleanup, json={"days": "30", "dry_run": False}), 422)
    error_of(await api.post(cleanup, json={"days": 30.5, "dry_run": False}), 422)
    assert await db_snapshot(services) == before

    headers = {"Idempotency-Key": "cleanup-1"}
    real = await api.post(cleanup, json={"days": 30, "dry_run": False}, headers=headers)
    assert real.status_code == 200, real.text

    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        rows = [{k: v for k, v in row.items() if k != "transaction_id"} for row in body["cleaned"]]
        return {**{k: v for k, v in body.items() if k != "dry_run"}, "cleaned": rows}

    assert comparable(real.json()) == comparable(dry.json())
    assert all(row["transaction_id"] for row in real.json()["cleaned"])
    after = await db_snapshot(services)
    replay = await api.post(cleanup, json={"days": 30, "dry_run": False}, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == real.json()
    assert await db_snapshot(services) == after
    other = await api.post(cleanup, json={"days": 29, "dry_run": False}, headers=headers)
    error_of(other, 409, "idempotency_key_reused")
    assert (await type_counts(services, guild))["cleanup"] == 2
    for n in (1, 2):
        assert (await balance_view(services, guild, member(n))).balance == 0
    assert (await balance_view(services, guild, member(3))).balance == 5
    assert await integrity_ok(services, guild)
    listed = await api.get(url(guild, "/bytes/transactions"), params={"type": "cleanup"})
    assert listed.status_code == 200, listed.text
    assert {t["actor_id"] for t in listed.json()} == {"key:tests"}


async def test_the_economy_reset_needs_admin_and_the_typed_word(
    api: httpx.AsyncClient, writer: httpx.AsyncClient, services: Services, guild: str
) -> None:
    for n in (1, 2):
        await claim(services, guild, member(n))
    reset = url(guild, "/economy/reset")
    before = await db_snapshot(services)
    error_of(await writer.post(reset, json={"confirm": "RESET"}), 403)
    error_of(await api.post(reset, json={"confirm": "yes"}), 400, "reset_not_confirmed")
    error_of(await api.post(reset, json={}), 400, "reset_not_confirmed")
    error_of(await api.post(reset, json={"confirm": "RESET", "extra": 1}), 422)
    preview = await api.post(reset, json={"dry_run": True})
    assert preview.status_code == 200, preview.text
    assert {k: preview.json()[k] for k in ("members", "amount", "streaks_cleared")} == {
        "members": 2,
        "amount": 220,
        "streaks_cleared": 2,
    }
    assert await db_snapshot(services) == before

    headers = {"Idempotency-Key": "reset-1"}
    done = await api.post(reset, json={"confirm": "RESET", "reason": "season 2"}, headers=headers)
    assert done.status_code == 200, done.text
    assert (done.json()["members"], len(done.json()["transaction_ids"])) == (2, 2)
    again = await api.post(reset, json={"confirm": "RESET", "reason": "season 2"}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await type_counts(services, guild))["reset"] == 2
    for n in (1, 2):
        view = await balance_view(services, guild, member(n))
        assert (view.balance, view.streak_count) == (0, 0)
    assert await integrity_ok(services, guild)
    shown = await api.get(url(guild, f"/bytes/transactions/{done.json()['transaction_ids'][0]}"))
    assert (shown.json()["type"], shown.json()["reason"]) == ("reset", "season 2")


async def test_the_bot_reports_presence_and_names_and_search_finds_them(
    writer: httpx.AsyncClient, reader: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 10)
    await fund(services, guild, member(2), 20)
    status = url(guild, f"/members/{member(1)}/status")
    left = await writer.put(status, json={"active": False, "display_name": "Marvin"})
    assert left.status_code == 200, left.text
    assert left.json() == {"guild_id": guild, "user_id": member(1), "active": False, "known": True}
    error_of(await writer.put(status, json={"active": True, "display_name": "a\nb"}), 422)
    names = await writer.put(
        url(guild, "/users/names"),
        json={
            "names": [
                {"user_id": member(2), "display_name": "Trillian"},
                {"user_id": member(3), "display_name": "Ghost"},
            ]
        },
    )
    assert names.json() == {"guild_id": guild, "updated": 1}
    refused: list[dict[str, Any]] = [
        {"names": [{"user_id": "x", "display_name": "y"}]},
        {"names": {}},
        {},
    ]
    for bad in refused:
        error_of(await writer.put(url(guild, "/users/names"), json=bad), 422)
    error_of(await reader.put(url(guild, "/users/names"), json={"names": []}), 403)

    def search(text: str) -> Any:
        return reader.get(url(guild, "/users"), params={"search": text, "status": "all"})

    assert ids((await search("marv")).json()) == [member(1)]
    assert ids((await search("TRILL")).json()) == [member(2)]
    assert ids((await search("ghost")).json()) == []
    assert (await search("marv")).json()["members"][0]["display_name"] == "Marvin"
