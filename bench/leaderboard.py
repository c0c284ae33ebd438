"""Leaderboard and rank at size, how far an estimated rank drifts, and what the index costs a
transfer.

    uv run python -m bench.leaderboard            # PostgreSQL 1,000,000 members, SQLite 100,000
    uv run python -m bench.leaderboard --quick    # CI-sized

For each backend a fresh database gets one guild, bulk-loaded consistently
(bench/ledger_data.py: random balances, 30 % of members tied at the starting balance) and
checked with the integrity check before anything is timed. Then, sequentially through the
read services (``economy.queries``, what the API routes call) in a read-only unit of work
each, with the settings' defaults (docs/hot-paths.md, "Leaderboard and rank"):

1. ``leaderboard(limit=10)``, ``--samples`` times: p50 / p99 / max;
2. the guild's first rank request, which builds the rank snapshot (timed alone), then
   ``member_standing`` (rank + member count, as ``GET .../leaderboard/rank/{user}`` serves it)
   for random members, ``--samples`` times, and for members at known depths (#100, #5,000 and
   #15,000 near the exact limit, the middle, the last), with whether each rank is exact;
   for reference, the exact count of the entries ahead (what a rank cost before) for a few
   random members;
3. the plans of the statements as they run (``EXPLAIN ANALYZE``; ``EXPLAIN QUERY PLAN`` on
   SQLite).

PostgreSQL only, 4.: what ``ix_accounts_leaderboard`` costs a transfer. pgbench runs the
transfer's own SQL (one ``guildbank_post`` call between two random members, 16 clients,
prepared statements) for ``--seconds`` with the index, without it (dropped), and with it
again, and reports transactions/s and the share of HOT updates of ``accounts`` in each run.
5.: the estimates' drift: the snapshot taken in 2. is kept through those transfers, then
estimated ranks of random members are compared with exact counts (and again after a rebuild).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from sqlalchemy import text
from sqlalchemy.engine import make_url

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
from guildbank.features.economy import queries, ranks
from guildbank.features.economy.schemas import LeaderboardEntryOut
from guildbank.platform.uow import Services, unit_of_work

GUILD = "777777777777777777"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--postgres-members", type=int, default=1_000_000)
    parser.add_argument("--sqlite-members", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=1000, help="timed calls per query")
    parser.add_argument("--seconds", type=int, default=15, help="each pgbench run")
    parser.add_argument("--backends", default="postgres,sqlite")
    args = parser.parse_args(argv)
    if args.quick:
        args.postgres_members, args.sqlite_members = 20_000, 5_000
        args.samples, args.seconds = 50, 3
    return args


async def timings(call: Callable[[], Awaitable[Any]], samples: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    await call()
    spent = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def line(name: str, ms: list[float]) -> None:
    print(
        f"  {name:<34} p50 {percentile(ms, 0.5):8.2f} ms   p99 {percentile(ms, 0.99):8.2f} ms"
        f"   max {max(ms):8.2f} ms"
    )


async def top(services: Services) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        rows = await queries.leaderboard(uow, guild_id=GUILD, limit=10)
        await uow.commit()
    assert len(rows) == 10


async def standing(services: Services, member: str) -> LeaderboardEntryOut:
    async with unit_of_work(services, read_only=True) as uow:
        found = await queries.member_standing(uow, guild_id=GUILD, user_id=member)
        await uow.commit()
    assert found.entry is not None
    return found.entry


async def exact_ahead(services: Services, member: str) -> int:
    """The full count of the entries ahead: what every rank cost before the snapshot."""
    async with unit_of_work(services, read_only=True) as uow:
        balance, account = (
            await uow.session.execute(
                text("SELECT balance, id FROM accounts WHERE guild_id = :g AND user_id = :u"),
                {"g": GUILD, "u": member},
            )
        ).one()
        (ahead,) = await ranks._scalars(uow, "ahead", guild=GUILD, balance=balance, account=account)
        await uow.commit()
    return ahead


async def explain(services: Services, title: str, statement: Any, **params: Any) -> None:
    """The plan of one of ranks.py's statements, as it runs (on the driver pool on PG)."""
    sql, names = ranks._pg_sql(statement, services.engine.dialect)
    arguments = tuple(params.get(name, value) for name, value in names)
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        if services.dialect == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    async with services.engine.connect() as connection:
        result = await connection.exec_driver_sql(prefix + sql, arguments)
        rows = result.all()
    print(f"\n  plan: {title}")
    for row in rows:
        print("    " + (str(row[0]) if services.dialect == "postgresql" else str(row[-1])))


async def reads(services: Services, members: int, samples: int) -> None:
    report = await check_ok(services, GUILD)
    print(f"  integrity ok: {report.accounts:,} accounts, {report.transactions:,} transactions")
    line("leaderboard top 10", await timings(lambda: top(services), samples))
    rng = random.Random(3)
    started = time.perf_counter()
    await standing(services, user_id(rng.randint(1, members)))
    slot = services.rank_snapshots.get(GUILD)
    built = slot.snapshot if slot is not None else None
    print(
        f"  first rank request (builds the snapshot) {(time.perf_counter() - started) * 1000:8.1f}"
        f" ms   {len(built.boundaries) if built else 0:,} boundaries"
    )
    exact: list[bool] = []

    async def random_rank() -> None:
        exact.append((await standing(services, user_id(rng.randint(1, members)))).rank_exact)

    line("rank of a random member", await timings(random_rank, samples))
    print(f"    exact: {sum(exact) / len(exact) * 100:.1f} % of them")
    depths = await _members_at_depths(services, members)
    for label, member in depths:
        ms = await timings(functools.partial(standing, services, member), max(5, samples // 20))
        entry = await standing(services, member)
        mark = "exact" if entry.rank_exact else "estimate"
        line(f"rank {label} (#{entry.rank:,}, {mark})", ms)
    line(
        "  before: exact count, random member",
        await timings(
            lambda: exact_ahead(services, user_id(rng.randint(1, members))), max(5, samples // 50)
        ),
    )
    middle = dict(depths)["middle"]
    async with unit_of_work(services, read_only=True) as uow:
        me = (
            await uow.session.execute(
                text("SELECT balance, id FROM accounts WHERE guild_id = :g AND user_id = :u"),
                {"g": GUILD, "u": middle},
            )
        ).one()
    found = built.boundary_ahead((-me[0], me[1])) if built else None
    top_balance, top_id = (-found[1][0], found[1][1]) if found else (me[0] + 1, 0)
    params = {"guild": GUILD, "balance": me[0], "account": me[1], "top_id": top_id}
    await explain(services, "leaderboard top 10", ranks._FIRST, guild=GUILD, limit=10)
    await explain(services, "member row", ranks._MEMBER, guild=GUILD, user=middle)
    between = "between_tied" if top_balance == me[0] else "between"
    await explain(
        services,
        f"rank of the middle member below its boundary ({between})",
        ranks._counts((between,)),
        top=top_balance,
        **params,
    )
    await explain(
        services,
        "count stopped at the exact limit",
        ranks._counts(("ahead_bounded",)),
        limit=services.rank_exact_limit,
        **params,
    )
    await explain(
        services,
        "snapshot build",
        ranks._BOUNDARIES,
        guild=GUILD,
        step=services.rank_snapshot_step,
    )


async def _members_at_depths(services: Services, members: int) -> list[tuple[str, str]]:
    """Members at a few depths of the leaderboard (read in index order)."""
    found = []
    depths = [("#100", 100), ("#5,000", 5_000), ("#15,000", 15_000)]
    depths += [("middle", members // 2), ("last", members)]
    async with unit_of_work(services, read_only=True) as uow:
        for label, position in depths:
            if position > members:
                continue
            member = (
                await uow.session.execute(
                    text(
                        "SELECT user_id FROM accounts WHERE guild_id = :g AND is_active "
                        "AND NOT is_system ORDER BY balance DESC, id LIMIT 1 OFFSET :o"
                    ),
                    {"g": GUILD, "o": position - 1},
                )
            ).scalar_one()
            found.append((label, member))
    return found


async def accuracy(services: Services, members: int, transfers: int, samples: int) -> None:
    """Estimated ranks of random members against exact counts: with the snapshot taken before
    ``transfers`` transfers, then with a fresh one."""
    rng = random.Random(5)
    picked = [user_id(rng.randint(1, members)) for _ in range(samples)]
    for label in (f"after ~{transfers:,} transfers, old snapshot", "after a rebuild"):
        errors = []
        for member in picked:
            entry = await standing(services, member)
            if not entry.rank_exact:
                errors.append(abs(entry.rank - 1 - await exact_ahead(services, member)))
        if errors:
            print(
                f"  {label:<44} |error| mean {sum(errors) / len(errors):7.1f}   "
                f"p99 {percentile(errors, 0.99):6.0f}   max {max(errors):6.0f}   "
                f"({len(errors)} estimates)"
            )
        services.rank_snapshots.clear()
        await standing(services, picked[0])  # builds a fresh snapshot


# --------------------------------------------------------------------------- transfers

PGBENCH_TRANSFER = """
\\set giver random({first}, {last})
\\set receiver random({first}, {last} - 1)
\\if :receiver >= :giver
\\set receiver :receiver + 1
\\endif
SELECT count(*) FROM guildbank_post('{guild}', 'transfer', 1, NULL, NULL, NULL, now(),
    ARRAY[:giver, :receiver]::bigint[], ARRAY[-1, 1]::bigint[], ARRAY[0, 1]::bigint[],
    ARRAY[1, 0]::bigint[]);
"""

INDEX_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_accounts_leaderboard ON accounts (guild_id, balance DESC, id) "
    "INCLUDE (user_id, total_received) WHERE is_active AND NOT is_system"
)


async def pgbench_transfers(url: str, seconds: int) -> int:
    """The index's cost on transfers; returns how many transfers ran (about)."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        print("\n4. pgbench not found (make bench installs it): index cost not measured")
        return 0
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        first, last = await connection.fetchrow(
            "SELECT min(id), max(id) FROM accounts WHERE guild_id = $1 AND NOT is_system", GUILD
        )
        script = PGBENCH_TRANSFER.format(first=first, last=last, guild=GUILD)
        print(f"\n4. transfers (guildbank_post, pgbench, 16 clients, {seconds} s each)")
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
            file.write(script)
        runs = (("with the index", True), ("without it", False), ("with it again", True))
        results = []
        for label, indexed in runs:
            if indexed:
                await connection.execute(INDEX_DDL)
            else:
                await connection.execute("DROP INDEX IF EXISTS ix_accounts_leaderboard")
            await connection.execute("VACUUM accounts")
            before = await connection.fetchrow(_HOT)
            tps = await _pgbench(pgbench, parsed, file.name, seconds)
            after = await connection.fetchrow(_HOT)
            updates, hot = after[0] - before[0], after[1] - before[1]
            share = hot / updates * 100 if updates else 0.0
            results.append(tps)
            print(f"  {label:<16} {tps:9,.0f} transfers/s   HOT updates {share:5.1f} %")
        print(f"  with / without the index: {(results[0] + results[2]) / 2 / results[1]:.2f}")
        return int(sum(results) * seconds)
    finally:
        await connection.execute(INDEX_DDL)
        await connection.close()
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(file.name)


_HOT = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'accounts'"


async def _pgbench(pgbench: str, url: Any, script: str, seconds: int) -> float:
    process = await asyncio.create_subprocess_exec(
        pgbench,
        "-h", str(url.host), "-p", str(url.port or 5432), "-U", str(url.username),
        "-n", "-M", "prepared", "-c", "16", "-j", "2", "-T", str(seconds), "-f", script,
        str(url.database),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    await asyncio.sleep(0.5)  # let the statistics collector catch up
    for row in out.decode().splitlines():
        if row.startswith("tps = "):
            return float(row.split()[2])
    msg = f"pgbench failed: {err.decode()[-500:]}"
    raise RuntimeError(msg)


async def main(args: argparse.Namespace) -> None:
    sizes = {"postgres": args.postgres_members, "sqlite": args.sqlite_members}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            members = sizes[backend]
            print(f"\n== {backend}: {members:,} members")
            url = await fresh_database(
                backend, f"guildbank_bench_leaderboard_{os.getpid()}", Path(folder)
            )
            try:
                async with bench_services(url) as services:
                    await register(services, GUILD)
                loaded = await bulk_load(url, GUILD, LedgerShape(members=members))
                print(f"  loaded in {loaded:.1f} s")
                async with bench_services(url) as services:
                    # The snapshot of 2. is kept through the transfers of 4. (measured in 5.).
                    services.rank_snapshot_seconds = 1e9
                    await reads(services, members, args.samples)
                    if backend == "postgres":
                        transfers = await pgbench_transfers(url, args.seconds)
                        print("\n5. estimated ranks against exact counts (random members)")
                        await accuracy(services, members, transfers, max(20, args.samples // 20))
            finally:
                await drop_database(url)


def run(argv: Sequence[str] | None = None) -> None:
    uvloop.run(main(parse_args(argv)))


if __name__ == "__main__":
    run()
