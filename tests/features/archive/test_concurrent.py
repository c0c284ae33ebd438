"""Archiving while transfers run: nothing lost, nothing twice.

PostgreSQL: 32 clients post transfers through the HTTP API, each request on its own pooled
connection, while the archive runs again and again on its own connection, each time after
the clock moved on two days, so every archive takes transactions posted during the burst
while newer ones are being posted. SQLite: the same with 8 clients (its writers queue).
Afterwards every 200 transfer is exactly once in the archive files or the hot tables,
balances are what the responses say, and the integrity check is clean.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import httpx

from guildbank.ledger.archive import read_archive
from guildbank.platform.uow import Services
from tests.concurrency.conftest import run_clients, watch_server
from tests.conftest import FakeClock
from tests.factories import fund, member, open_account
from tests.features.archive.conftest import archive_rows, check, files_in, ledger

MEMBERS = [member(n) for n in range(1, 21)]
CLIENTS = {"postgres": 32, "sqlite": 8}
TRANSFERS = {"postgres": 4000, "sqlite": 240}


async def test_archiving_during_transfers_loses_nothing(
    api: httpx.AsyncClient,
    services: Services,
    guild: str,
    clock: FakeClock,
    archive_dir: Path,
    backend: str,
    database_url: str,
) -> None:
    rng = random.Random(20261202)
    for user in MEMBERS:
        await open_account(services, guild, user)
        await fund(services, guild, user, 300)
    before = await ledger(services, guild)
    money = sum(before.balances.values())
    jobs: list[tuple[str, str, int]] = []
    for _ in range(TRANSFERS[backend]):
        giver, receiver = rng.sample(MEMBERS, 2)
        jobs.append((giver, receiver, rng.randint(1, 60)))
    url = f"/api/guilds/{guild}/bytes/transactions"

    async def transfer(job: tuple[str, str, int]) -> httpx.Response:
        giver, receiver, amount = job
        return await api.post(
            url, json={"giver_id": giver, "receiver_id": receiver, "amount": amount}
        )

    archived: list[tuple[httpx.Response, bool]] = []  # and whether the burst was over
    burst_done = asyncio.Event()

    async def archiver() -> None:
        while not burst_done.is_set():
            await asyncio.sleep(0.02)
            clock.advance(days=40)
            response = await api.post(
                f"/api/guilds/{guild}/transactions/archive", json={"days_to_keep": 31}
            )
            archived.append((response, burst_done.is_set()))

    async def burst() -> list[httpx.Response]:
        try:
            return await run_clients(CLIENTS[backend], jobs, transfer)
        finally:
            burst_done.set()

    (outcomes, _), server = await watch_server(database_url, asyncio.gather(burst(), archiver()))

    codes = Counter((r.status_code, r.json().get("code")) for r in outcomes)
    assert set(codes) <= {(200, None), (400, "insufficient_balance")}, codes
    succeeded = [r.json() for r in outcomes if r.status_code == 200]
    assert len(succeeded) >= len(jobs) // 2
    assert [r.status_code for r, _ in archived] == [200] * len(archived), [
        r.text for r, _ in archived
    ]
    moved = [(r.json()["transactions"], over) for r, over in archived]
    # Archives of transactions posted during the burst finished while transfers still ran.
    assert sum(1 for n, over in moved[1:] if n and not over) >= 2, moved
    if server is not None:  # PostgreSQL really ran them side by side
        assert server.peak >= CLIENTS[backend] // 2, server.peak

    after = await ledger(services, guild)
    report = await check(services, guild)
    assert report.ok, report.problems
    assert sum(after.balances.values()) == money == 0, "the guild still sums to zero"
    # Every transaction is in exactly one place: a registered file or the hot tables.
    files = [archive_dir / row.file_name for row in await archive_rows(services, guild)]
    assert files_in(archive_dir) == sorted(files)
    in_files = [
        line["id"] for path in files for line in read_archive(path) if line["kind"] == "transaction"
    ]
    hot = [tx["id"] for tx in after.transactions]
    everywhere = Counter(in_files + hot)
    assert all(n == 1 for n in everywhere.values())
    expected = {tx["id"] for tx in before.transactions} | {t["id"] for t in succeeded}
    assert set(everywhere) == expected
    # Balances are what the responses add up to.
    for user in MEMBERS:
        account = next(
            tx_entry["account_id"]
            for tx in before.transactions
            for tx_entry in tx["entries"]
            if tx_entry["user_id"] == user
        )
        delta = sum(t["amount"] for t in succeeded if t["receiver_id"] == user) - sum(
            t["amount"] for t in succeeded if t["giver_id"] == user
        )
        assert after.balances[account] == before.balances[account] + delta, user
