"""The transaction log over HTTP: filters, paging, sorting, detail, admin adjustments,
reversals and the integrity check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from guildbank.ledger.accounts import SYSTEM_ACCOUNTS
from guildbank.platform.models.ledger import Account
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, START, FakeClock
from tests.factories import bytes_url, db_snapshot, error_of, fund, member

A, B, C = member(1), member(2), member(3)


async def send(api: httpx.AsyncClient, guild: str, giver: str, receiver: str, amount: int) -> int:
    response = await api.post(
        bytes_url(guild, "/transactions"),
        json={"giver_id": giver, "receiver_id": receiver, "amount": amount},
    )
    assert response.status_code == 200, response.text
    transaction_id: int = response.json()["id"]
    return transaction_id


async def listing(api: httpx.AsyncClient, guild: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(bytes_url(guild, "/transactions"), params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def adjust(
    api: httpx.AsyncClient, guild: str, user: str, action: str, amount: int
) -> httpx.Response:
    return await api.post(
        bytes_url(guild, "/adjust"),
        json={"user_id": user, "action": action, "amount": amount, "reason": "audit"},
    )


async def workload(api: httpx.AsyncClient, guild: str, clock: FakeClock) -> dict[str, int]:
    """A day of history, one hour apart: funding, two transfers and a daily."""
    ids: dict[str, int] = {}
    ids["fund"] = (await adjust(api, guild, A, "set", 500)).json()["transaction_id"]
    clock.advance(hours=1)
    ids["a_to_b"] = await send(api, guild, A, B, 100)
    clock.advance(hours=1)
    ids["a_to_c"] = await send(api, guild, A, C, 30)
    clock.advance(hours=1)
    daily = await api.post(bytes_url(guild, f"/daily/{B}"))
    ids["daily"] = daily.json()["transaction_id"]
    return ids


async def test_listing_filters_pages_and_sorts(
    api: httpx.AsyncClient, guild: str, clock: FakeClock
) -> None:
    ids = await workload(api, guild, clock)
    everything = await listing(api, guild)
    # A's opening, the funding, B's opening, A->B, C's opening, A->C, the daily.
    assert len(everything) == 7
    assert [t["id"] for t in everything] == sorted((t["id"] for t in everything), reverse=True)
    assert everything[0]["id"] == ids["daily"]
    assert [t["id"] for t in await listing(api, guild, sort="oldest")] == [
        t["id"] for t in reversed(everything)
    ]
    largest = [t["amount"] for t in await listing(api, guild, sort="largest")]
    assert largest == sorted(largest, reverse=True)
    assert largest[0] == 400  # funding from 100 to 500
    smallest = [t["amount"] for t in await listing(api, guild, sort="smallest")]
    assert smallest == sorted(smallest)

    transfers = await listing(api, guild, type="transfer")
    assert [t["id"] for t in transfers] == [ids["a_to_c"], ids["a_to_b"]]
    assert await listing(api, guild, type="no_such_type") == []

    for_c = await listing(api, guild, user_id=C)
    assert {t["type"] for t in for_c} == {"transfer", "starting_balance"}
    assert all(C in {e["user_id"] for e in t["entries"]} for t in for_c)

    window = await listing(
        api,
        guild,
        start=(START + timedelta(minutes=30)).isoformat(),
        end=(START + timedelta(hours=2, minutes=30)).isoformat(),
    )
    # B's and C's openings and the two transfers; not A's opening, the funding or the daily.
    assert sorted(t["type"] for t in window) == ["starting_balance"] * 2 + ["transfer"] * 2
    assert {t["id"] for t in window if t["type"] == "transfer"} == {ids["a_to_b"], ids["a_to_c"]}
    assert {e["user_id"] for t in window for e in t["entries"]} == {"mint", A, B, C}
    naive_start = await listing(api, guild, start=(START + timedelta(hours=3)).isoformat()[:19])
    assert [t["id"] for t in naive_start] == [ids["daily"]]

    pages = [await listing(api, guild, limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [t["id"] for page in pages for t in page] == [t["id"] for t in everything]


async def test_transaction_detail_and_isolation_between_guilds(
    api: httpx.AsyncClient, guild: str, clock: FakeClock, services: Services
) -> None:
    ids = await workload(api, guild, clock)
    detail = await api.get(bytes_url(guild, f"/transactions/{ids['a_to_b']}"))
    assert detail.status_code == 200
    body = detail.json()
    assert (body["type"], body["amount"], body["guild_id"]) == ("transfer", 100, guild)
    assert body["actor_id"] == A
    entries = {e["user_id"]: e for e in body["entries"]}
    assert entries[A] == {"user_id": A, "amount": -100, "balance_before": 500, "balance_after": 400}
    assert entries[B] == {"user_id": B, "amount": 100, "balance_before": 100, "balance_after": 200}
    assert sum(e["amount"] for e in body["entries"]) == 0

    assert (await api.put(f"/api/guilds/{OTHER_GUILD_ID}", json={})).status_code == 200
    before = await db_snapshot(services)
    other = bytes_url(OTHER_GUILD_ID, f"/transactions/{ids['a_to_b']}")
    error_of(await api.get(other), 404, "transaction_not_found")
    error_of(await api.post(f"{other}/reverse", json={"reason": "x"}), 404, "transaction_not_found")
    assert await listing(api, OTHER_GUILD_ID) == []
    assert await db_snapshot(services) == before
    error_of(await api.get(bytes_url(guild, "/transactions/999999")), 404, "transaction_not_found")


async def test_admin_adjust_add_remove_set(api: httpx.AsyncClient, guild: str) -> None:
    added = (await adjust(api, guild, A, "add", 50)).json()
    assert (added["action"], added["delta"], added["balance"]) == ("add", 50, 150)
    removed = (await adjust(api, guild, A, "remove", 30)).json()
    assert (removed["delta"], removed["balance"]) == (-30, 120)
    set_ = (await adjust(api, guild, A, "set", 1000)).json()
    assert (set_["delta"], set_["balance"]) == (880, 1000)
    unchanged = (await adjust(api, guild, A, "set", 1000)).json()
    assert (unchanged["delta"], unchanged["transaction_id"]) == (0, None)
    emptied = (await adjust(api, guild, A, "set", 0)).json()
    assert emptied["balance"] == 0
    error_of(await adjust(api, guild, A, "remove", 1), 400, "insufficient_balance")

    adjustments = await listing(api, guild, type="admin_adjust")
    assert [t["amount"] for t in adjustments] == [1000, 880, 30, 50]
    assert {t["reason"] for t in adjustments} == {"audit"}
    balance = (await api.get(bytes_url(guild, f"/balance/{A}"))).json()
    assert balance["balance"] == 0


async def test_reversal_restores_balances_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, A, 500)
    transfer_id = await send(api, guild, A, B, 100)
    url = bytes_url(guild, f"/transactions/{transfer_id}/reverse")
    response = await api.post(url, json={"reason": "sent by mistake", "actor_id": C})
    assert response.status_code == 201, response.text
    reversal = response.json()
    assert (reversal["reverses_id"], reversal["amount"]) == (transfer_id, 100)
    for user, expected in ((A, 500), (B, 100)):
        assert (await api.get(bytes_url(guild, f"/balance/{user}"))).json()["balance"] == expected
    detail = (await api.get(bytes_url(guild, f"/transactions/{reversal['id']}"))).json()
    assert (detail["type"], detail["reverses_id"], detail["actor_id"]) == (
        "reversal",
        transfer_id,
        C,
    )
    assert detail["reason"] == "sent by mistake"

    before = await db_snapshot(services)
    again = await api.post(url, json={"reason": "again"})
    assert "already been reversed" in error_of(again, 409, "already_reversed")["detail"]
    reverse_reversal = bytes_url(guild, f"/transactions/{reversal['id']}/reverse")
    error_of(
        await api.post(reverse_reversal, json={"reason": "undo"}), 400, "cannot_reverse_reversal"
    )
    assert await db_snapshot(services) == before


async def test_reversal_of_spent_money_is_refused(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, A, 500)
    transfer_id = await send(api, guild, A, B, 100)
    await send(api, guild, B, C, 200)  # B spends what A sent
    before = await db_snapshot(services)
    url = bytes_url(guild, f"/transactions/{transfer_id}/reverse")
    error_of(await api.post(url, json={"reason": "too late"}), 400, "insufficient_balance")
    assert await db_snapshot(services) == before


async def test_integrity_is_ok_after_a_workload_and_reports_tampering(
    api: httpx.AsyncClient, guild: str, clock: FakeClock, services: Services
) -> None:
    ids = await workload(api, guild, clock)
    await api.post(
        bytes_url(guild, f"/transactions/{ids['a_to_c']}/reverse"), json={"reason": "undo"}
    )
    await adjust(api, guild, C, "remove", 10)
    response = await api.get(bytes_url(guild, "/integrity"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True, report["problems"]
    assert report["problems"] == []
    assert report["total"] == 0
    assert report["transactions"] == 9
    assert report["accounts"] == len(SYSTEM_ACCOUNTS) + 3  # and three members

    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild, Account.user_id == B)
            .values(balance=Account.balance + 7)
        )
        await uow.commit()
    report = (await api.get(bytes_url(guild, "/integrity"))).json()
    assert report["ok"] is False
    codes = {p["code"] for p in report["problems"]}
    assert {"balance_mismatch", "guild_total_nonzero"} <= codes
    assert all(isinstance(p["detail"], str) for p in report["problems"])
