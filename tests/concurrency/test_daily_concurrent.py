"""Daily claims under real concurrency: one member claiming many times at once is paid once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from guildbank.features.economy import service as economy
from guildbank.features.economy.errors import AlreadyClaimed
from guildbank.ledger import daily_batches
from guildbank.platform.uow import Services, unit_of_work
from tests.concurrency.conftest import (
    Level,
    PoolWatch,
    assert_integrity,
    ledger_state,
    run_clients,
)
from tests.conftest import FakeClock
from tests.factories import fund, member, open_account


def daily_url(guild_id: str, user_id: str) -> str:
    return f"/api/guilds/{guild_id}/bytes/daily/{user_id}"


async def claim(api: httpx.AsyncClient, guild_id: str, user_id: str) -> tuple[int, object]:
    response = await api.post(daily_url(guild_id, user_id))
    body = response.json()
    return response.status_code, body.get("code") if response.status_code != 200 else body


@pytest.mark.parametrize("known", [True, False], ids=["existing", "first-appearance"])
async def test_concurrent_claims_through_the_api_pay_once(
    services: Services,
    guild: str,
    api: httpx.AsyncClient,
    clock: FakeClock,
    level: Level,
    known: bool,
) -> None:
    user = member(1)
    if known:
        await open_account(services, guild, user)

    for day, streak in ((1, 1), (2, 2)):
        outcomes = await run_clients(
            level.claims, range(level.claims), lambda _: claim(api, guild, user)
        )
        paid = [body for status, body in outcomes if status == 200]
        assert len(paid) == 1, Counter(status for status, _ in outcomes)
        assert Counter(outcomes[i] for i in range(len(outcomes)) if outcomes[i][0] != 200) == (
            Counter({(409, "already_claimed"): level.claims - 1})
        )
        assert isinstance(paid[0], dict)
        assert paid[0]["streak_count"] == streak
        assert paid[0]["balance"] == 100 + 10 * day
        state = await ledger_state(services, guild)
        assert state.tx_counts["daily"] == day
        assert state.tx_counts["starting_balance"] == 1
        assert state.balances[user] == 100 + 10 * day
        assert state.received[user] == 10 * day
        clock.advance(days=1)
    await assert_integrity(api, guild)


async def test_claims_racing_on_held_connections_pay_once(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level, pool_watch: PoolWatch
) -> None:
    """Every claimant holds its own connection (and transaction) before any of them claims.

    On SQLite a write transaction takes the database lock as it begins, so there the
    claimants only start together; on PostgreSQL all of them are open at once.
    """
    user = member(1)
    await open_account(services, guild, user)
    held = services.dialect == "postgresql"
    barrier = asyncio.Barrier(level.claims)

    async def claimant() -> bool:
        if not held:
            await barrier.wait()
        async with unit_of_work(services) as uow:
            if held:
                await uow.session.connection()
                await barrier.wait()
            try:
                await economy.claim_daily(uow, guild_id=guild, user_id=user)
            except AlreadyClaimed:
                return False
            await uow.commit()
            return True

    results = await asyncio.gather(*(claimant() for _ in range(level.claims)))

    assert results.count(True) == 1
    if held:
        assert pool_watch.peak >= level.claims
    state = await ledger_state(services, guild)
    assert state.tx_counts["daily"] == 1
    assert state.balances[user] == 110
    await assert_integrity(api, guild)


async def test_everyone_claims_while_transfers_run(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    """Dailies (the mint, then the member) interleaved with transfers (two member rows)."""
    rng = random.Random(7)
    members = [member(n) for n in range(1, 21)]
    for user in members:
        await open_account(services, guild, user)
        await fund(services, guild, user, 50)
    jobs: list[tuple[str, str, int]] = [(user, "", 0) for user in members for _ in range(2)]
    for _ in range(level.clients * 4):
        giver, receiver = rng.sample(members, 2)
        jobs.append((giver, receiver, rng.randint(1, 60)))
    rng.shuffle(jobs)

    async def act(job: tuple[str, str, int]) -> tuple[str, int, object]:
        giver, receiver, amount = job
        if not receiver:
            status, _ = await claim(api, guild, giver)
            return "daily", status, None
        response = await api.post(
            f"/api/guilds/{guild}/bytes/transactions",
            json={"giver_id": giver, "receiver_id": receiver, "amount": amount},
        )
        return "transfer", response.status_code, response.json().get("code")

    outcomes = await run_clients(level.clients, jobs, act)

    tally = Counter((kind, status) for kind, status, _ in outcomes)
    assert tally[("daily", 200)] == len(members)
    assert tally[("daily", 409)] == len(members)
    transfers_ok = tally[("transfer", 200)]
    refused = [code for kind, status, code in outcomes if kind == "transfer" and status != 200]
    assert set(refused) <= {"insufficient_balance"}
    state = await ledger_state(services, guild)
    assert state.tx_counts["daily"] == len(members)
    assert state.tx_counts.get("transfer", 0) == transfers_ok
    assert sum(state.balances[user] for user in members) == len(members) * 60
    assert all(state.balances[user] >= 0 for user in members)
    await assert_integrity(api, guild)


async def test_one_idempotency_key_claimed_concurrently_answers_alike(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    user = member(1)

    async def post(_: int) -> httpx.Response:
        return await api.post(daily_url(guild, user), headers={"Idempotency-Key": "daily-1"})

    responses = await run_clients(level.claims, range(level.claims), post)

    assert [r.status_code for r in responses] == [200] * level.claims, [
        r.json() for r in responses if r.status_code != 200
    ]
    assert len({r.json()["transaction_id"] for r in responses}) == 1
    assert [r.headers.get("idempotent-replayed") for r in responses].count(None) == 1
    state = await ledger_state(services, guild)
    assert state.tx_counts == {"starting_balance": 1, "daily": 1}
    await assert_integrity(api, guild)


async def test_sixteen_first_dailies_at_once_each_open_and_pay_once(
    services: Services, guild: str, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen newcomers claim together, each in its own unit of work.

    On PostgreSQL the claims that arrive while one of the guild's claim statements runs go
    together as the next statement, which holds the mint once for all of them
    (ledger/daily_batches.py); whichever way they queue, each account opens once with its
    starting balance and is paid once.
    """
    statements: list[int] = []
    send = daily_batches._send

    async def recorded(pool: Any, terms: Any, batch: Sequence[Any]) -> None:
        statements.append(len(batch))
        await send(pool, terms, batch)

    monkeypatch.setattr(daily_batches, "_send", recorded)
    newcomers = [member(3000 + n) for n in range(16)]
    await claim(api, guild, member(1))  # the guild's settings are cached from here on
    barrier = asyncio.Barrier(len(newcomers))

    async def claimant(user: str) -> tuple[int, int, int | None]:
        await barrier.wait()
        async with unit_of_work(services) as uow:
            result = await economy.claim_daily(uow, guild_id=guild, user_id=user)
            await uow.commit()
        return result.balance, result.streak_count, result.transaction_id

    results = await asyncio.gather(*(claimant(user) for user in newcomers))

    assert [(balance, streak) for balance, streak, _ in results] == [(110, 1)] * len(newcomers)
    assert len({transaction for _, _, transaction in results}) == len(newcomers)
    if services.dialect == "postgresql":
        assert sum(statements) == len(newcomers) + 1
        assert len(statements) < len(newcomers), statements  # batched
    state = await ledger_state(services, guild)
    opened = len(newcomers) + 1
    assert state.tx_counts == {"starting_balance": opened, "daily": opened}
    assert all(state.balances[user] == 110 for user in newcomers)
    assert state.balances["mint"] == -110 * opened
    await assert_integrity(api, guild)
