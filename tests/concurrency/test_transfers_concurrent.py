"""Transfers under real concurrency, driven through the HTTP API (the whole stack).

PostgreSQL: 32 clients, each request on its own pooled asyncpg connection, 2,000 random
transfers among 20 low-balance members. SQLite: the same scenarios with 8 clients.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import httpx

from guildbank.platform.uow import Services
from tests.concurrency.conftest import (
    Level,
    PoolWatch,
    assert_integrity,
    entry_totals,
    ledger_state,
    run_clients,
    watch_server,
)
from tests.factories import configure, fund, member, open_account

MEMBERS = 20


@dataclass(frozen=True, slots=True)
class Job:
    giver: str
    receiver: str
    amount: int


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    status: int
    body: dict[str, object]


def transfer_url(guild_id: str) -> str:
    return f"/api/guilds/{guild_id}/bytes/transactions"


async def send(api: httpx.AsyncClient, guild_id: str, job: Job) -> Outcome:
    response = await api.post(
        transfer_url(guild_id),
        json={"giver_id": job.giver, "receiver_id": job.receiver, "amount": job.amount},
    )
    return Outcome(job, response.status_code, response.json())


def refusal_codes(outcomes: list[Outcome]) -> Counter[tuple[int, object]]:
    return Counter((o.status, o.body.get("code")) for o in outcomes if o.status != 200)


async def test_random_transfers_conserve_money(
    services: Services,
    guild: str,
    api: httpx.AsyncClient,
    database_url: str,
    level: Level,
    pool_watch: PoolWatch,
) -> None:
    rng = random.Random(20260314)
    members = [member(n) for n in range(1, MEMBERS + 1)]
    for user in members:
        await open_account(services, guild, user)
        await fund(services, guild, user, rng.randint(0, 120))
    before = await ledger_state(services, guild)
    initial_total = sum(before.balances[user] for user in members)
    jobs = []
    for _ in range(level.transfers):
        giver, receiver = rng.sample(members, 2)
        jobs.append(Job(giver, receiver, rng.randint(1, 90)))

    outcomes, server = await watch_server(
        database_url,
        run_clients(level.clients, jobs, lambda job: send(api, guild, job)),
    )

    succeeded = [o for o in outcomes if o.status == 200]
    refused = [o for o in outcomes if o.status != 200]
    # Every refusal is a clean "insufficient balance": no 500, no deadlock, no lock timeout.
    assert refusal_codes(outcomes) == Counter({(400, "insufficient_balance"): len(refused)})
    # Low balances and large amounts: both outcomes really happen, in numbers.
    assert len(succeeded) >= level.transfers // 10, len(succeeded)
    assert len(refused) >= level.transfers // 10, len(refused)
    for outcome in succeeded:
        assert outcome.body["giver_balance"] >= 0  # type: ignore[operator]
        assert outcome.body["amount"] == outcome.job.amount

    after = await ledger_state(services, guild)
    # Money is conserved: members hold what they held, and the guild still sums to zero.
    assert sum(after.balances[user] for user in members) == initial_total
    assert sum(after.balances.values()) == 0
    assert all(after.balances[user] >= 0 for user in members)
    # The ledger holds exactly one transfer transaction per 200 response.
    assert after.tx_counts.get("transfer", 0) == len(succeeded)
    # Each member's running totals match both the ledger entries and the 200 responses.
    received, sent = await entry_totals(services, guild, ["transfer"])
    for user in members:
        expected_in = sum(o.job.amount for o in succeeded if o.job.receiver == user)
        expected_out = sum(o.job.amount for o in succeeded if o.job.giver == user)
        assert after.received[user] == received.get(user, 0) == expected_in, user
        assert after.sent[user] == sent.get(user, 0) == expected_out, user
        assert after.balances[user] == before.balances[user] + expected_in - expected_out, user
    report = await assert_integrity(api, guild)
    assert report["transactions"] == sum(after.tx_counts.values())

    # Real parallel connections: one per client checked out of the pool at once (and never
    # two per request), seen by the server as that many connections inside a transaction.
    # The app's background loops (event relay, idempotency purger, task expiry and announcement
    # schedulers: runtime/app.py) may each hold one more while they work.
    background_loops = 4
    assert level.clients * 3 // 4 <= pool_watch.peak <= level.clients + background_loops, (
        pool_watch.peak
    )
    if server is not None:
        assert server.peak >= level.clients, server.peak
        # Sampled, and a transfer between known members is one short autocommitted statement
        # (ledger/posting.py), so a sample catches only some of them busy; still many at once.
        assert server.peak_active >= level.clients // 4, server.peak_active


async def test_opposite_directions_on_one_pair_never_deadlock(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    alice, bob = member(1), member(2)
    half = level.hammer // 2
    for user in (alice, bob):
        await open_account(services, guild, user)
        await fund(services, guild, user, half * 3)
    jobs = [Job(alice, bob, 3) if i % 2 == 0 else Job(bob, alice, 3) for i in range(half * 2)]

    outcomes = await run_clients(level.clients, jobs, lambda job: send(api, guild, job))

    # Each side can afford all of its own sends, so every single one must go through.
    assert [o.status for o in outcomes] == [200] * len(jobs), refusal_codes(outcomes)
    after = await ledger_state(services, guild)
    assert after.balances[alice] == after.balances[bob] == half * 3
    assert after.received[alice] == after.sent[alice] == half * 3
    assert after.tx_counts["transfer"] == len(jobs)
    await assert_integrity(api, guild)


async def test_opposite_directions_with_cooldown_never_deadlock(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    """The cooldown claim locks the giver first; that must not invert the posting's lock order."""
    await configure(services, guild, transfer_cooldown_hours=1)
    pairs = [(member(2 * n), member(2 * n + 1)) for n in range(1, level.clients + 1)]
    for left, right in pairs:
        await open_account(services, guild, left)
        await open_account(services, guild, right)
    # Both members of a pair send to each other at once, and the first sends again. The clock
    # stands still, so each giver's first send is their one allowed send of the hour.
    jobs = [job for a, b in pairs for job in (Job(a, b, 5), Job(b, a, 5), Job(a, b, 5))]

    outcomes = await run_clients(level.clients, jobs, lambda job: send(api, guild, job))

    by_giver: dict[str, Counter[tuple[int, object]]] = {}
    for o in outcomes:
        by_giver.setdefault(o.job.giver, Counter())[(o.status, o.body.get("code"))] += 1
    for left, right in pairs:
        assert by_giver[left] == Counter({(200, None): 1, (409, "transfer_cooldown"): 1}), left
        assert by_giver[right] == Counter({(200, None): 1}), right
    after = await ledger_state(services, guild)
    assert after.tx_counts["transfer"] == 2 * len(pairs)
    await assert_integrity(api, guild)


async def test_one_giver_pays_exactly_what_the_balance_covers(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    giver = member(1)
    receivers = [member(n) for n in range(2, 6)]
    balance, amount = 1000, 70
    for user in (giver, *receivers):
        await open_account(services, guild, user)
    await fund(services, guild, giver, balance)
    attempts = level.clients * 2
    jobs = [Job(giver, receivers[i % len(receivers)], amount) for i in range(attempts)]

    outcomes = await run_clients(level.clients, jobs, lambda job: send(api, guild, job))

    succeeded = [o for o in outcomes if o.status == 200]
    assert len(succeeded) == balance // amount
    assert refusal_codes(outcomes) == Counter(
        {(400, "insufficient_balance"): attempts - balance // amount}
    )
    # The successes saw the giver's balance fall by exactly one amount each time.
    assert sorted(o.body["giver_balance"] for o in succeeded) == [  # type: ignore[type-var]
        balance - amount * k for k in range(balance // amount, 0, -1)
    ]
    after = await ledger_state(services, guild)
    assert after.balances[giver] == balance % amount
    assert after.sent[giver] == amount * (balance // amount)
    assert after.tx_counts["transfer"] == balance // amount
    await assert_integrity(api, guild)


async def test_one_idempotency_key_sent_concurrently_moves_money_once(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    """Copies of one request race; the giver affords only one. All get the first's answer."""
    giver, receiver = member(1), member(2)
    for user in (giver, receiver):
        await open_account(services, guild, user)
    await fund(services, guild, giver, 60)

    async def post(_: int) -> httpx.Response:
        return await api.post(
            transfer_url(guild),
            json={"giver_id": giver, "receiver_id": receiver, "amount": 50},
            headers={"Idempotency-Key": "pay-once"},
        )

    responses = await run_clients(level.clients, range(level.clients), post)

    assert [r.status_code for r in responses] == [200] * level.clients, [
        r.json() for r in responses if r.status_code != 200
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    replayed = [r.headers.get("idempotent-replayed") for r in responses]
    assert replayed.count(None) == 1
    after = await ledger_state(services, guild)
    assert after.tx_counts["transfer"] == 1
    assert after.balances[giver] == 10
    await assert_integrity(api, guild)
