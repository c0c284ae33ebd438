"""First daily claims (each opens the member's account) against transfers, at 1 and 16 clients.

    uv run python -m bench.daily            # PostgreSQL, 10 s per run
    uv run python -m bench.daily --quick    # CI-sized

A member's first daily opens their account with the starting balance and pays the reward,
both from the guild's mint: every first daily in a guild takes that one row. The question is
how long it is held. The bench runs, in one process (uvloop), N concurrent clients each
looping ``unit_of_work`` → verb → commit for ``--seconds``, at 1 and at 16 clients:

* **transfers** (the reference): ``economy.transfer`` between random members of 1,000
  bulk-loaded ones (bench/ledger_data.py);
* **first dailies**: ``economy.claim_daily`` for a member never seen before, every time:
  the claims of the guild that arrive while one of its claim statements runs go together as
  the next statement (``ledger/daily_batches.py``, migration 0017);
* **first dailies, one statement each**: the same claims with batches of one
  (``daily_batches.MAX_BATCH = 1``): each claim its own ``guildbank_claim_daily`` statement,
  holding the mint for that statement and its commit (migration 0009, what batching replaced);
* **first dailies, step by step**: the same claim as separate statements in the unit's
  transaction (``ledger.daily``'s SQLite path, which PostgreSQL used before migration 0009),
  holding the mint across them.

Reported: operations/s, p50/p99 latency, each daily row as a multiple of transfers at the
same concurrency, how each scales from 1 to 16 clients, and how many claims the batched
statements carried on average. The ledger must pass the integrity check at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.ledger_data import (
    LedgerShape,
    bench_services,
    bulk_load,
    check_ok,
    drop_database,
    fresh_database,
    register,
    user_id,
)
from bench.probes import percentile
from guildbank.features.economy import service as economy
from guildbank.features.economy.service import DAILY_REASON, _reward_tiers
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import guild_today
from guildbank.ledger import daily, daily_batches
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work

GUILD = "888888888888888888"
MEMBERS = 1_000
NEWCOMERS = itertools.count(10_000_000)  # user_id(n) of members never seen before


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    clients: int
    per_second: float
    latencies_ms: list[float]
    statements: int  # claim statements sent (ledger.daily_batches), 0 for other verbs


# Claims per statement sent by ledger.daily_batches (counted around its _send).
SENT: list[int] = []


def count_statements() -> None:
    send = daily_batches._send

    async def counted(pool: Any, terms: Any, batch: Sequence[Any]) -> None:
        SENT.append(len(batch))
        await send(pool, terms, batch)

    daily_batches._send = counted


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (CI)")
    parser.add_argument("--seconds", type=float, default=10.0, help="each run")
    parser.add_argument("--clients", default="1,16")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 2.0
    return args


async def transfer(services: Services, rng: random.Random) -> None:
    giver, receiver = rng.sample(range(1, MEMBERS + 1), 2)
    async with unit_of_work(services) as uow:
        await economy.transfer(
            uow,
            guild_id=GUILD,
            giver_id=user_id(giver),
            receiver_id=user_id(receiver),
            amount=rng.randint(1, 3),
        )
        await uow.commit()


async def first_daily(services: Services, _: random.Random) -> None:
    async with unit_of_work(services) as uow:
        result = await economy.claim_daily(uow, guild_id=GUILD, user_id=user_id(next(NEWCOMERS)))
        await uow.commit()
    assert result.transaction_id is not None


async def first_daily_in_steps(services: Services, _: random.Random) -> None:
    """The claim as it ran before the one-statement function (the step-by-step path)."""
    async with unit_of_work(services) as uow:
        await _steps(uow, user_id(next(NEWCOMERS)))
        await uow.commit()


async def _steps(uow: UnitOfWork, member: str) -> None:
    config = await get_config(uow, GUILD)
    # The private step-by-step path is the point of comparison (what PostgreSQL ran before).
    claim = await daily._claim_in_steps(
        uow,
        GUILD,
        member,
        guild_today(config.timezone, uow.now),
        config.starting_balance,
        config.daily_amount,
        _reward_tiers(config.streak_bonuses),
        DAILY_REASON,
    )
    assert claim is not None


async def measure(
    services: Services,
    name: str,
    verb: Callable[[Services, random.Random], Awaitable[None]],
    clients: int,
    seconds: float,
) -> Run:
    latencies: list[float] = []
    start = asyncio.Event()

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        await start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            await verb(services, rng)
            latencies.append((time.perf_counter() - began) * 1000)

    warm = random.Random(-1)
    for _ in range(20):  # warm-up: pools, caches, prepared statements
        await verb(services, warm)
    tasks = [asyncio.create_task(client(seed)) for seed in range(clients)]
    SENT.clear()
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    per_second = len(latencies) / (time.perf_counter() - began)
    return Run(name, clients, per_second, latencies, len(SENT))


def report(runs: list[Run]) -> None:
    print(
        f"\n{'run':<38}{'clients':>8}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'× transfers':>13}{'claims/stmt':>13}"
    )
    reference = {r.clients: r.per_second for r in runs if r.name == "transfers"}
    for r in runs:
        per_statement = (
            f"{len(r.latencies_ms) / r.statements:>13.1f}" if r.statements else f"{'':>13}"
        )
        print(
            f"{r.name:<38}{r.clients:>8}{r.per_second:>10,.0f}"
            f"{percentile(r.latencies_ms, 0.5):>9.2f}{percentile(r.latencies_ms, 0.99):>9.2f}"
            f"{r.per_second / reference[r.clients]:>13.2f}{per_statement}"
        )
    print()
    for name in dict.fromkeys(r.name for r in runs):
        mine = sorted((r for r in runs if r.name == name), key=lambda r: r.clients)
        if len(mine) > 1:
            scaling = mine[-1].per_second / mine[0].per_second
            print(f"{name}: {mine[-1].clients} clients = {scaling:.2f} x {mine[0].clients}")


async def main(args: argparse.Namespace) -> None:
    clients = [int(c) for c in args.clients.split(",")]
    count_statements()
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database("postgres", f"guildbank_bench_daily_{os.getpid()}", Path(folder))
        try:
            async with bench_services(url, database_connections=2 * max(clients) + 8) as services:
                await register(services, GUILD)
                await bulk_load(url, GUILD, LedgerShape(members=MEMBERS, dormant_share=0.0))
                runs = []
                for n in clients:
                    for name, verb in (
                        ("transfers", transfer),
                        ("first dailies", first_daily),
                        ("first dailies, one statement each", first_daily),
                        ("first dailies, step by step", first_daily_in_steps),
                    ):
                        saved = daily_batches.MAX_BATCH
                        if "one statement" in name:  # batches of one, as migration 0009 ran
                            daily_batches.MAX_BATCH = 1
                        try:
                            runs.append(await measure(services, name, verb, n, args.seconds))
                        finally:
                            daily_batches.MAX_BATCH = saved
                report(runs)
                checked = await check_ok(services, GUILD)
                print(
                    f"integrity ok: {checked.accounts:,} accounts, "
                    f"{checked.transactions:,} transactions"
                )
        finally:
            await drop_database(url)


def run(argv: Sequence[str] | None = None) -> None:
    uvloop.run(main(parse_args(argv)))


if __name__ == "__main__":
    run()
