"""The integrity check at size: against one raw SQL statement, and while the app serves.

    uv run python -m bench.integrity            # PostgreSQL, a 1,000,000-member guild
    uv run python -m bench.integrity --quick    # CI-sized (a few seconds of loading)

One PostgreSQL database (created and dropped here) holds two guilds, bulk-loaded
consistently (bench/ledger_data.py) and checked before anything is timed:

* **big**: 1,000,000 members (2,000,000 ledger entries: each member's starting balance);
* **small**: 10,000 members and 20,000 transfers between them, in the same ledger.

Measured, each ``--rounds`` times (min and median shown):

1. ``check_integrity`` of the small guild against **one raw SQL statement doing the same
   checks** (sum of each account's entries and its last balance_after against its balance,
   the chain of balance_before/after, every transaction's zero sum, the guild total), run
   on a plain asyncpg connection, written two ways (``RAW_JOINS``, ``RAW_LATERAL``). The
   goal is at most 2 x the faster one.
2. ``check_integrity`` of the big guild in this process: its time, how much the process's
   peak RSS grows during it, and the longest stall of the event loop (a task that sleeps
   5 ms in a loop and records how late it wakes).
3. The real app (uvicorn, one process) answering ``GET /api/guilds/{big}/bytes/integrity``
   while this process asks ``GET /health`` every 10 ms: /health latency before and during
   the check, and the server's RSS before and at its peak during the check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from sqlalchemy.engine import make_url

from bench.ledger_data import (
    LedgerShape,
    bench_services,
    bulk_load,
    check_ok,
    drop_database,
    fresh_database,
    register,
)
from bench.probes import (
    admin_key,
    peak_rss_mb,
    percentile,
    process_rss_mb,
    reset_peak_rss,
    rss_mb,
    running_server,
)
from guildbank.ledger import integrity
from guildbank.platform.uow import Services, unit_of_work

BIG = "555555555555555555"
SMALL = "666666666666666666"

# The references: the same checks as one statement, written two ways. JOINS is what one
# writes first (per-account sums and last entries by GROUP BY, the chain by a window over a
# join, unbalanced transactions by a grouped join, the guild total); PostgreSQL tends to hash
# the whole ledger for it. LATERAL reads the guild's accounts and transactions one by one
# from the entries' indexes, as ledger/integrity.py does. Both start each account at its
# archive checkpoint, if it has one (ledger/archive.py).
RAW_JOINS = """
WITH acc AS (
    SELECT a.id, a.balance, c.balance AS checkpoint
    FROM accounts a LEFT JOIN ledger_checkpoints c ON c.account_id = a.id
    WHERE a.guild_id = $1
), sums AS (
    SELECT e.account_id, sum(e.amount) AS total, max(e.id) AS last_id
    FROM ledger_entries e JOIN acc ON acc.id = e.account_id GROUP BY e.account_id
), chain AS (
    SELECT e.balance_before,
           coalesce(lag(e.balance_after) OVER (PARTITION BY e.account_id ORDER BY e.id),
                    acc.checkpoint) AS previous
    FROM ledger_entries e JOIN acc ON acc.id = e.account_id
), tx AS (
    SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
    WHERE t.guild_id = $1 GROUP BY t.id
    HAVING coalesce(sum(e.amount), 0) <> 0 OR count(e.id) < 2
)
SELECT
    (SELECT count(*) FROM acc LEFT JOIN sums ON sums.account_id = acc.id
        LEFT JOIN ledger_entries l ON l.id = sums.last_id
        WHERE coalesce(sums.total, 0) + coalesce(acc.checkpoint, 0) <> acc.balance
            OR l.balance_after <> acc.balance),
    (SELECT count(*) FROM chain WHERE previous IS NOT NULL AND balance_before <> previous),
    (SELECT count(*) FROM tx),
    (SELECT coalesce(sum(balance), 0) FROM acc),
    (SELECT count(*) FROM acc),
    (SELECT count(*) FROM ledger_transactions WHERE guild_id = $1)
"""
RAW_LATERAL = """
WITH tx AS (
    SELECT t.id FROM ledger_transactions t CROSS JOIN LATERAL (
        SELECT coalesce(sum(e.amount), 0) AS total, count(*) AS n
        FROM ledger_entries e WHERE e.transaction_id = t.id
    ) s
    WHERE t.guild_id = $1 AND (s.total <> 0 OR s.n < 2)
)
SELECT
    count(*) FILTER (WHERE x.next_id IS NULL
        AND (coalesce(x.running, 0) + coalesce(c.balance, 0) <> a.balance
             OR x.balance_after <> a.balance)),
    count(*) FILTER (WHERE coalesce(x.previous, c.balance) IS NOT NULL
        AND x.balance_before <> coalesce(x.previous, c.balance)),
    (SELECT count(*) FROM tx),
    coalesce(sum(a.balance) FILTER (WHERE x.next_id IS NULL), 0),
    count(*) FILTER (WHERE x.next_id IS NULL),
    (SELECT count(*) FROM ledger_transactions WHERE guild_id = $1)
FROM accounts a LEFT JOIN ledger_checkpoints c ON c.account_id = a.id LEFT JOIN LATERAL (
    SELECT e.balance_before, e.balance_after,
           lag(e.balance_after) OVER w AS previous, sum(e.amount) OVER w AS running,
           lead(e.id) OVER w AS next_id
    FROM ledger_entries e WHERE e.account_id = a.id WINDOW w AS (ORDER BY e.id)
) x ON true
WHERE a.guild_id = $1
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--big", type=int, default=1_000_000, help="members of the big guild")
    parser.add_argument("--small", type=int, default=10_000, help="members of the small guild")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        args.big, args.small, args.rounds = 20_000, 1_000, 2
    return args


async def timed(work: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        seconds.append(time.perf_counter() - started)
    return seconds


def show(name: str, seconds: list[float]) -> None:
    print(f"  {name:<44} min {min(seconds):8.3f} s   median {statistics.median(seconds):8.3f} s")


async def check(services: Services, guild_id: str) -> integrity.IntegrityReport:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
        await uow.commit()
    assert report.ok, report.problems[:5]
    return report


async def raw_check(connection: asyncpg.Connection, guild_id: str, statement: str) -> None:
    row = await connection.fetchrow(statement, guild_id)
    assert row is not None
    assert tuple(row)[:4] == (0, 0, 0, 0), tuple(row)


class LoopWatch:
    """How late a task sleeping 5 ms at a time wakes up: the event loop's longest stall."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - before - 0.005)

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def in_process(services: Services, args: argparse.Namespace) -> None:
    print(f"\n2. check_integrity, big guild ({args.big:,} members), in this process")
    await check(services, BIG)  # warm the caches once
    stalls, growth = [], []
    seconds = []
    for _ in range(args.rounds):
        before = rss_mb()
        reset_peak_rss()
        with LoopWatch() as watch:
            started = time.perf_counter()
            await check(services, BIG)
            seconds.append(time.perf_counter() - started)
        stalls.append(watch.worst * 1000)
        growth.append(peak_rss_mb() - before)
    show("check_integrity (big)", seconds)
    print(f"  peak RSS growth during a check: max {max(growth):.1f} MB (goal < 50)")
    print(f"  longest event-loop stall: max {max(stalls):.1f} ms (goal < 50)")


async def served(url: str, token: str, rounds: int) -> None:
    print("\n3. the real app: GET /health every 10 ms while it checks the big guild")
    async with running_server(url) as (client, pid):
        auth = {"Authorization": f"Bearer {token}"}
        path = f"/api/guilds/{BIG}/bytes/integrity"
        assert (await client.get(path, headers=auth)).json()["ok"]  # warm-up
        idle: list[float] = []
        for _ in range(100):
            started = time.perf_counter()
            await client.get("/health")
            idle.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
        during: list[float] = []
        rss_before, rss_peak = process_rss_mb(pid), 0.0
        for _ in range(rounds):
            check_task = asyncio.create_task(client.get(path, headers=auth))
            while not check_task.done():
                started = time.perf_counter()
                await client.get("/health")
                during.append((time.perf_counter() - started) * 1000)
                rss_peak = max(rss_peak, process_rss_mb(pid))
                await asyncio.sleep(0.01)
            response = await check_task
            assert response.status_code == 200, response.text[:200]
            assert response.json()["ok"]
    for name, values in (("idle", idle), ("during checks", during)):
        print(
            f"  /health {name:<14} n={len(values):5d}  p50 {percentile(values, 0.5):6.1f} ms"
            f"  p99 {percentile(values, 0.99):6.1f} ms  max {max(values):6.1f} ms"
        )
    print(f"  server RSS: {rss_before:.0f} MB before, {rss_peak:.0f} MB at most during checks")


async def main(args: argparse.Namespace) -> None:
    name = f"guildbank_bench_integrity_{os.getpid()}"
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database("postgres", name, Path(folder))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            async with bench_services(url) as services:
                await register(services, BIG)
                await register(services, SMALL)
                token = await admin_key(services)
            loaded = await bulk_load(url, BIG, LedgerShape(members=args.big))
            loaded += await bulk_load(
                url, SMALL, LedgerShape(members=args.small, transfers=2 * args.small, seed=5)
            )
            async with bench_services(url) as services:
                small = await check_ok(services, SMALL)
                big = await check_ok(services, BIG)
                print(
                    f"loaded in {loaded:.1f} s; integrity ok: big {big.accounts:,} accounts / "
                    f"{big.transactions:,} transactions, small {small.accounts:,} / "
                    f"{small.transactions:,}"
                )
                print(f"\n1. small guild ({args.small:,} members) in the same ledger")
                raw = await asyncpg.connect(dsn)
                try:
                    await raw_check(raw, SMALL, RAW_LATERAL)  # warm-up
                    joins = await timed(lambda: raw_check(raw, SMALL, RAW_JOINS), args.rounds)
                    lateral = await timed(lambda: raw_check(raw, SMALL, RAW_LATERAL), args.rounds)
                finally:
                    await raw.close()
                await check(services, SMALL)  # warm-up
                ours = await timed(lambda: check(services, SMALL), args.rounds)
                show("raw SQL, one statement: joins", joins)
                show("raw SQL, one statement: lateral", lateral)
                show("check_integrity", ours)
                best = min(statistics.median(joins), statistics.median(lateral))
                ratio = statistics.median(ours) / best
                print(f"  ratio (medians): {ratio:.2f} x the faster raw statement (goal <= 2)")
                await in_process(services, args)
            await served(url, token, args.rounds)
        finally:
            if not args.keep:
                with contextlib.suppress(Exception):
                    await drop_database(url)


def run(argv: Sequence[str] | None = None) -> None:
    uvloop.run(main(parse_args(argv)))


if __name__ == "__main__":
    run()
