"""Shop purchases under real concurrency on PostgreSQL, through the HTTP API (whole stack).

Each request runs on its own pooled connection; clients start together behind a gate. The
row lock of a limited item serialises its purchases, so the stock and the member's holding
read after it are current: no overselling and no breach of an item's per-member limit. An
unlimited item's row is not locked at all: its sales are counted in the buyers' shards, and
none is lost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.concurrency.conftest import assert_integrity, ledger_state, run_clients
from tests.factories import fund, member, shop_money
from tests.features.shop.helpers import held, item_row, purchases

PRICE = 25


def url(guild: str, path: str) -> str:
    return f"/api/guilds/{guild}{path}"


async def create(api: httpx.AsyncClient, guild: str, **fields: Any) -> int:
    response = await api.post(url(guild, "/shop"), json={"price": PRICE, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def funded_buyers(services: Services, guild: str, first: int, count: int) -> list[str]:
    """``count`` members from ``member(first)`` on, 100 bytes each."""
    buyers = [member(first + n) for n in range(count)]
    for buyer in buyers:
        await fund(services, guild, buyer, 100)
    return buyers


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_50_buyers_of_a_stock_of_10(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    buyers = await funded_buyers(services, guild, 1000, 50)
    item = await create(api, guild, name="Limited edition", stock=10)
    before = await ledger_state(services, guild)

    async def attempt(user: str) -> httpx.Response:
        return await api.post(
            url(guild, f"/shop/{item}/buy"),
            json={"user_id": user},
            headers={"Idempotency-Key": f"buy-{user}"},
        )

    responses = await run_clients(50, buyers, attempt)

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == {(200, None): 10, (409, "sold_out"): 40}, outcomes
    assert all(r.json()["detail"] == "Sold out" for r in responses if r.status_code == 409)
    winners = [u for u, r in zip(buyers, responses, strict=True) if r.status_code == 200]
    assert await item_row(services, item) == (0, 10)
    assert await purchases(services) == 10
    after = await ledger_state(services, guild)
    assert shop_money(after.balances) == shop_money(before.balances) + 10 * PRICE
    for user in buyers:
        expected = 100 - PRICE if user in winners else 100
        assert after.balances[user] == expected, user
        assert await held(services, guild, user, item) == (1 if user in winners else 0)
    assert sum(after.balances.values()) == 0
    assert after.tx_counts.get("shop_purchase") == 10
    await assert_integrity(api, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_50_buyers_of_an_unlimited_item_twice_each(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    buyers = await funded_buyers(services, guild, 2000, 50)
    item = await create(api, guild, name="Cookie")
    before = await ledger_state(services, guild)

    async def attempt(user: str, round_: int) -> httpx.Response:
        return await api.post(
            url(guild, f"/shop/{item}/buy"),
            json={"user_id": user},
            headers={"Idempotency-Key": f"buy-{user}-{round_}"},
        )

    twice = [(user, round_) for round_ in (1, 2) for user in buyers]
    responses = await run_clients(50, twice, lambda pair: attempt(*pair))

    assert Counter(r.status_code for r in responses) == {200: 100}
    # Each answer counts the other shards as its statement saw them: at most the final 100.
    assert all(1 <= r.json()["item"]["sales_count"] <= 100 for r in responses)
    assert await item_row(services, item) == (-1, 100)
    after = await ledger_state(services, guild)
    assert shop_money(after.balances) == shop_money(before.balances) + 100 * PRICE
    assert all(after.balances[user] == 100 - 2 * PRICE for user in buyers)
    assert after.tx_counts.get("shop_purchase") == 100
    await assert_integrity(api, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_one_member_firing_20_buys_of_a_max_1_item(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    buyer = member(2000)
    await fund(services, guild, buyer, 10_000)
    item = await create(api, guild, name="Once only", max_per_member=1)
    gate = asyncio.Event()

    async def attempt(n: int) -> httpx.Response:
        await gate.wait()
        return await api.post(
            url(guild, f"/shop/{item}/buy"),
            json={"user_id": buyer},
            headers={"Idempotency-Key": f"max-one-{n}"},
        )

    tasks = [asyncio.create_task(attempt(n)) for n in range(20)]
    gate.set()
    responses = await asyncio.gather(*tasks)

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == {(200, None): 1, (409, "max_per_member"): 19}, outcomes
    assert await held(services, guild, buyer, item) == 1
    assert await item_row(services, item) == (-1, 1)
    state = await ledger_state(services, guild)
    assert state.balances[buyer] == 10_000 - PRICE
    assert sum(state.balances.values()) == 0
    await assert_integrity(api, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_twins_of_one_idempotent_purchase_buy_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    buyer = member(3000)
    await fund(services, guild, buyer, 1000)
    item = await create(api, guild, name="Twin", stock=5)

    async def attempt(_: int) -> httpx.Response:
        return await api.post(
            url(guild, f"/shop/{item}/buy"),
            json={"user_id": buyer, "quantity": 2},
            headers={"Idempotency-Key": "the-same-key"},
        )

    responses = await run_clients(10, range(10), attempt)
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["purchase_id"] for r in responses}) == 1
    assert await item_row(services, item) == (3, 2)
    assert await held(services, guild, buyer, item) == 2
    await assert_integrity(api, guild)
