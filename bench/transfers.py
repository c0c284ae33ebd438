"""Transfers per second as users send them, with and without an ``Idempotency-Key``, in guilds
of three sizes, against pgbench's TPC-B on the same server in the same run.

Run with ``make bench`` (or ``uv run python -m bench.transfers --help``; ``--quick`` for a
CI-sized run); results and their reading are in ``bench/README.md``. Everything happens on the
local PostgreSQL at 127.0.0.1:5432 (user ``postgres``, trust auth), in databases this script
creates and drops:

1. The reference: ``pgbench -i`` and the built-in TPC-B with the same clients and duration,
   once first and once last (the reference is their mean, so drift shows).
2. One guildbank database with a guild per ``--populations`` entry (50, 10,000 and 1,000,000
   members by default): members bulk-loaded (``bench/ledger_data.py``), then each funded from
   the mint in one admin adjustment so that no transfer is refused. The integrity check must
   pass before anything is timed.
3. The service layer: ``--clients`` asyncio tasks, each running ``economy.transfer`` in its
   own unit of work, without a key and with a unique key per transfer, per population, with
   the round trips per transfer counted (``bench/transfer_layers.py``).
4. Where the time goes (smallest population): Python CPU and round trips per transfer through
   each layer, one transfer at a time.
5. The real server (``bench/http_load.py``) per population, without and with a unique
   ``Idempotency-Key`` per request: the path the bot and integrators take.
6. pgbench driving the transfer's own statement (``guildbank_transfer``, unkeyed and keyed):
   the ceiling of the design with no Python.
7. The integrity check of every guild over everything the runs wrote: it must report ``ok``.

Each run reports CPU microseconds per operation of the load generator, of the Python
process(es) and of the PostgreSQL processes of its database: on a small machine the ratio to
TPC-B is essentially the ratio of CPU spent per operation. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import uvloop

from bench.http_load import MAX_AMOUNT, USER_PREFIX, Target, api_run
from bench.ledger_data import LedgerShape, bulk_load, check_ok, register
from bench.measure import (
    HOST,
    CpuMeter,
    RunResult,
    drop_databases,
    pg_dsn,
    pg_url,
    pgbench_init,
    pgbench_run,
    prepare_databases,
    summarise,
)
from bench.transfer_layers import LayerCost, RoundTripCounter, layer_breakdown, service_transfer
from guildbank.ledger import integrity
from guildbank.platform import apikeys
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.services import build_services
from guildbank.settings import Settings

GUILD_BASE = 900_000_000_000_000_000  # population i's guild: GUILD_BASE + i + 1
MEMBER_FLOAT = 10**9  # bytes each member is funded with: no transfer is ever refused


@dataclass(frozen=True, slots=True)
class Population:
    """One bench guild, its members transferring among themselves in random pairs."""

    index: int
    members: int

    @property
    def guild_id(self) -> str:
        return str(GUILD_BASE + self.index + 1)

    @property
    def label(self) -> str:
        return f"{self.members:,} members"

    def target(self, *, keyed: bool) -> Target:
        return Target(f"/api/guilds/{self.guild_id}/bytes/transactions", self.members, keyed)


def mode(keyed: bool) -> str:
    return "keyed" if keyed else "no key"


# --------------------------------------------------------------------------- set-up


@contextlib.asynccontextmanager
async def bench_services(database: str) -> AsyncIterator[Services]:
    """Services as a web process builds them (explicit values win over any .env file)."""
    settings = Settings(database_url=pg_url(database), redis_url="", log_level="WARNING")
    services = build_services(settings)
    try:
        yield services
    finally:
        await services.close()


_FUND_ENTRIES = """
INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_before, balance_after)
SELECT $1, id, d.delta, balance, balance + d.delta
FROM accounts, LATERAL (SELECT CASE WHEN is_system THEN -$2::bigint ELSE $3::bigint END) d(delta)
WHERE guild_id = $4 AND (NOT is_system OR user_id = 'mint') ORDER BY id
"""
_FUND_BALANCES = """
UPDATE accounts SET balance = balance + CASE WHEN is_system THEN -$2::bigint ELSE $3::bigint END
WHERE guild_id = $1 AND (NOT is_system OR user_id = 'mint')
"""


async def fund_members(database: str, guild_id: str) -> None:
    """Credit every member MEMBER_FLOAT from the mint as one admin adjustment: a real,
    balanced posting (an entry per member, chained from its balance), bulk-written."""
    connection = await asyncpg.connect(pg_dsn(database))
    try:
        async with connection.transaction():
            members = await connection.fetchval(
                "SELECT count(*) FROM accounts WHERE guild_id = $1 AND NOT is_system", guild_id
            )
            total = members * MEMBER_FLOAT
            tx = await connection.fetchval(
                "INSERT INTO ledger_transactions (guild_id, type, amount, reason, created_at) "
                "VALUES ($1, 'admin_adjust', $2, 'bench float', now()) RETURNING id",
                guild_id,
                total,
            )
            await connection.execute(_FUND_ENTRIES, tx, total, MEMBER_FLOAT, guild_id)
            await connection.execute(_FUND_BALANCES, guild_id, total, MEMBER_FLOAT)
        await connection.execute("VACUUM (ANALYZE) accounts, ledger_transactions, ledger_entries")
    finally:
        await connection.close()


async def prepare(database: str, populations: Sequence[Population]) -> str:
    """Load and fund every population's guild, check each; returns an API key."""
    async with bench_services(database) as services:
        for population in populations:
            started = time.perf_counter()
            await register(services, population.guild_id)
            shape = LedgerShape(members=population.members, dormant_share=1.0)
            await bulk_load(pg_url(database), population.guild_id, shape)
            await fund_members(database, population.guild_id)
            loaded = time.perf_counter() - started
            report = await check_ok(services, population.guild_id)
            say(
                f"  {population.label}: loaded and funded in {loaded:.1f} s, integrity ok "
                f"in {time.perf_counter() - started - loaded:.1f} s ({report.transactions} "
                "transactions)"
            )
        async with unit_of_work(services) as uow:
            _, token = await apikeys.create_api_key(uow, name="bench", scopes=("read", "write"))
            await uow.commit()
    return token


async def member_account_range(database: str, guild_id: str) -> tuple[int, int]:
    """The guild's member account ids, contiguous since they were loaded in one go."""
    connection = await asyncpg.connect(pg_dsn(database))
    try:
        low, high, count = await connection.fetchrow(
            "SELECT min(id), max(id), count(*) FROM accounts WHERE guild_id = $1 AND NOT is_system",
            guild_id,
        )
    finally:
        await connection.close()
    assert high - low + 1 == count, "member accounts are not contiguous"
    return low, high


# --------------------------------------------------------------------------- runs


async def service_layer_run(
    services: Services,
    database: str,
    population: Population,
    *,
    keyed: bool,
    clients: int,
    seconds: int,
    seed: int,
) -> RunResult:
    """``clients`` tasks, each transferring in its own unit of work until time is up."""
    counter = RoundTripCounter(services)
    await counter.watch_driver_pool(services)
    target = population.target(keyed=keyed)
    latencies: list[float] = []

    async def client(rng: random.Random, deadline: float) -> None:
        while (started := time.perf_counter()) < deadline:
            await service_transfer(services, target, rng)
            latencies.append(time.perf_counter() - started)

    warm = time.perf_counter() + min(3.0, seconds / 5)  # fills the pools and caches
    await asyncio.gather(*(client(random.Random(seed - i), warm) for i in range(clients)))
    latencies.clear()
    counter.reset()
    cpu_before = time.process_time()
    with CpuMeter(database) as meter:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client(random.Random(seed + i), deadline) for i in range(clients)))
        elapsed = time.perf_counter() - started
    result = summarise(f"service, {population.label}, {mode(keyed)}", latencies, elapsed)
    result.app_cpu = time.process_time() - cpu_before
    result.db_cpu = meter.database_cpu
    per = max(1, result.operations)
    result.notes.append(
        f"{clients} asyncio tasks (uvloop); {counter.round_trips / per:.2f} round trips per "
        f"transfer ({counter.statements / per:.2f} statements + BEGIN/COMMIT)"
    )
    await services.relay.drain()  # publish what the paused relay left
    return result


# One autocommitted call of the transfer's statement per pgbench transaction (no BEGIN/END),
# as the driver pool sends it; keyed: a fresh key per call.
TRANSFER_SCRIPT = """
\\set g random(1, {members})
\\set r random(1, {members} - 1)
\\set r case when :r >= :g then :r + 1 else :r end
\\set amt random(1, {max_amount})
SELECT o_status, o_tx FROM guildbank_transfer(
  '{guild}', '{prefix}' || lpad(:g::text, 9, '0'), '{prefix}' || lpad(:r::text, 9, '0'),
  :amt::bigint, NULL, now(), '{{}}'::text[], '{{}}'::bigint[], NULL,
  {owner}, {key}, 'pgbench', 'POST', '/pgbench', NULL);
"""


def pgbench_transfers(
    database: str, population: Population, *, keyed: bool, clients: int, seconds: int
) -> RunResult:
    """pgbench driving ``guildbank_transfer`` itself: the design with no Python."""
    script = TRANSFER_SCRIPT.format(
        members=population.members,
        max_amount=MAX_AMOUNT,
        guild=population.guild_id,
        prefix=USER_PREFIX,
        owner="1" if keyed else "NULL",
        key="gen_random_uuid()::text" if keyed else "NULL",
    )
    return pgbench_run(
        database,
        name=f"pgbench: guildbank_transfer, {mode(keyed)}",
        clients=clients,
        seconds=seconds,
        script=script,
        extra=["-M", "prepared"],
    )


async def breakdown(
    database: str, token: str, population: Population, *, operations: int
) -> list[LayerCost]:
    async with bench_services(database) as services:
        app = create_app(Settings(database_url=pg_url(database), redis_url=""), services)
        span = await member_account_range(database, population.guild_id)
        async with app.router.lifespan_context(app):
            return await layer_breakdown(
                services,
                app,
                token,
                population.target(keyed=False),
                span,
                operations=operations,
                rounds=3,
            )


async def check_ledgers(
    database: str, populations: Sequence[Population]
) -> list[integrity.IntegrityReport]:
    async with bench_services(database) as services:
        reports = []
        for population in populations:
            async with unit_of_work(services, read_only=True) as uow:
                reports.append(await integrity.check_integrity(uow, guild_id=population.guild_id))
        return reports


# --------------------------------------------------------------------------- report


def machine_facts(pg: dict[str, str]) -> list[str]:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    settings = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "server_version")
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"PostgreSQL {pg['server_version']} on {HOST}: {settings}",
    ]


def print_table(reference: float, runs: Sequence[RunResult]) -> None:
    header = (
        f"{'run':<44} {'per s':>7} {'x TPC-B':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6}"
        f" | {'CPU us/op: client':>17} {'python':>7} {'pg':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.name:<44} {run.per_second:>7.0f} {run.per_second / reference:>7.2f} "
            f"{run.p50_ms:>7.2f} {run.p99_ms:>7.2f} {run.failures:>6}"
            f" | {run.cpu_us(run.client_cpu):>17.0f} {run.cpu_us(run.app_cpu):>7.0f}"
            f" {run.cpu_us(run.db_cpu):>6.0f}"
        )
    print()
    for run in runs:
        for note in run.notes:
            print(f"  {run.name}: {note}")


def print_targets(
    reference: float, http: dict[tuple[int, bool], RunResult], populations: Sequence[Population]
) -> None:
    """The issue's goals, read off this run."""
    if not http:
        return
    hot = populations[0]
    for keyed in (True, False):
        run = http.get((hot.members, keyed))
        if run is not None:
            print(
                f"target: HTTP, {hot.label}, {mode(keyed)} >= 0.50 x TPC-B: "
                f"{run.per_second / reference:.2f} x"
            )
    for population in populations[1:]:
        for keyed in (False, True):
            run, base = http.get((population.members, keyed)), http.get((hot.members, keyed))
            if run is not None and base is not None and base.per_second:
                print(
                    f"target: HTTP, {population.label}, {mode(keyed)} >= 0.90 x the "
                    f"{hot.label} figure: {run.per_second / base.per_second:.2f} x"
                )


def report_results(
    facts: dict[str, str],
    load_before: float,
    tpcb: Sequence[RunResult],
    runs: Sequence[RunResult],
    http: dict[tuple[int, bool], RunResult],
    layers: Sequence[LayerCost],
    reports: Sequence[integrity.IntegrityReport],
    populations: Sequence[Population],
) -> None:
    reference = sum(r.per_second for r in tpcb) / len(tpcb)
    print()
    for line in machine_facts(facts):
        print(line)
    noisy = " (other work was running: expect noise)" if load_before > 0.5 else ""
    print(f"load average before the bench: {load_before:.2f}{noisy}")
    print(f"reference: mean TPC-B tps of the first and last run = {reference:.0f}")
    drift = abs(tpcb[0].per_second - tpcb[-1].per_second) / reference
    if drift > 0.2:
        print(f"warning: the two TPC-B runs differ by {drift:.0%}; rerun on a quiet machine")
    print()
    print_table(reference, [tpcb[0], *runs, tpcb[-1]])
    print()
    if layers:
        print(f"Per transfer, one at a time ({populations[0].label}; CPU: min of 3 rounds):")
        for layer in layers:
            print(
                f"  {layer.name:<44} {layer.cpu_us:>6.0f} us Python CPU, "
                f"{layer.round_trips:.2f} round trips"
            )
        print()
    print_targets(reference, http, populations)
    for report in reports:
        print(
            f"ledger integrity of {report.guild_id}: {'ok' if report.ok else 'PROBLEMS'} "
            f"({report.accounts} accounts, {report.transactions} transactions, "
            f"guild total {report.total})"
        )
        for problem in report.problems[:10]:
            print(f"  {problem['code']}: {problem['detail']}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a short, small run (CI-sized)")
    parser.add_argument("--seconds", type=int, help="duration of each measured run (15)")
    parser.add_argument("--clients", type=int, help="concurrent clients (16)")
    parser.add_argument(
        "--populations", help="members of each bench guild, comma-separated (50,10000,1000000)"
    )
    parser.add_argument("--scale", type=int, help="pgbench scale factor (16)")
    parser.add_argument(
        "--workers",
        default="1",
        help="servers to try: N = uvicorn --workers N; Nr = N uvicorn processes on SO_REUSEPORT",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="HTTP load generator (auto: wrk when installed)",
    )
    parser.add_argument("--skip-api", action="store_true", help="no HTTP runs")
    parser.add_argument(
        "--breakdown", type=int, metavar="N", help="transfers per layer in the breakdown (1000)"
    )
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)
    defaults = (
        {"seconds": 3, "clients": 8, "populations": "50,2000", "scale": 2, "breakdown": 100}
        if args.quick
        else {
            "seconds": 15,
            "clients": 16,
            "populations": "50,10000,1000000",
            "scale": 16,
            "breakdown": 1000,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    sizes = [int(n) for n in args.populations.split(",")]
    if min(sizes) < 2 or args.clients < 1 or args.seconds < 1:
        parser.error("need at least 2 members per guild, 1 client and 1 second")
    args.populations = [Population(i, n) for i, n in enumerate(sizes)]
    if not all(re.fullmatch(r"[1-9][0-9]*r?", w) for w in args.workers.split(",")):
        parser.error("--workers is a comma-separated list like 1,2,2r")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def service_runs(database: str, args: argparse.Namespace) -> list[RunResult]:
    runs: list[RunResult] = []
    for population in args.populations:
        for keyed in (False, True):
            say(f"service layer: {population.label}, {mode(keyed)}, {args.seconds} s")
            async with bench_services(database) as services:
                runs.append(
                    await service_layer_run(
                        services,
                        database,
                        population,
                        keyed=keyed,
                        clients=args.clients,
                        seconds=args.seconds,
                        seed=args.seed + len(runs),
                    )
                )
    return runs


def http_runs(
    database: str, token: str, args: argparse.Namespace
) -> dict[tuple[int, bool], RunResult]:
    http: dict[tuple[int, bool], RunResult] = {}
    for workers in [] if args.skip_api else args.workers.split(","):
        for population in args.populations:
            for keyed in (False, True):
                say(f"HTTP: {population.label}, {mode(keyed)}, servers {workers!r}, {args.load}")
                run = api_run(
                    database,
                    token,
                    population.target(keyed=keyed),
                    name=f"HTTP, {population.label}, {mode(keyed)}",
                    workers=workers,
                    clients=args.clients,
                    seconds=args.seconds,
                    load=args.load,
                    seed=args.seed + len(http),
                )
                best = http.get((population.members, keyed))
                if best is None or run.per_second > best.per_second:
                    http[(population.members, keyed)] = run
    return http


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    reference_db, guildbank_db = (
        f"guildbank_bench_pgbench_{os.getpid()}",
        f"guildbank_bench_{os.getpid()}",
    )
    facts = uvloop.run(prepare_databases([reference_db, guildbank_db]))
    try:
        say(f"TPC-B: pgbench -i -s {args.scale}, then {args.clients} clients for {args.seconds} s")
        pgbench_init(reference_db, args.scale)
        tpcb = [
            pgbench_run(
                reference_db,
                name="pgbench TPC-B (first)",
                clients=args.clients,
                seconds=args.seconds,
            )
        ]
        say("loading the guilds")
        upgrade(pg_url(guildbank_db))
        token = uvloop.run(prepare(guildbank_db, args.populations))
        runs = uvloop.run(service_runs(guildbank_db, args))
        layers: list[LayerCost] = []
        if args.breakdown > 0:
            say(f"where the time goes: {args.breakdown} sequential transfers per layer")
            layers = uvloop.run(
                breakdown(guildbank_db, token, args.populations[0], operations=args.breakdown)
            )
        http = http_runs(guildbank_db, token, args)
        runs += list(http.values())
        for keyed in (False, True):
            say(f"guildbank_transfer driven by pgbench, {mode(keyed)}, {args.seconds} s")
            runs.append(
                pgbench_transfers(
                    guildbank_db,
                    args.populations[0],
                    keyed=keyed,
                    clients=args.clients,
                    seconds=args.seconds,
                )
            )
        say(f"TPC-B again, {args.seconds} s")
        tpcb.append(
            pgbench_run(
                reference_db,
                name="pgbench TPC-B (last)",
                clients=args.clients,
                seconds=args.seconds,
            )
        )
        reports = uvloop.run(check_ledgers(guildbank_db, args.populations))
    finally:
        uvloop.run(drop_databases([reference_db, guildbank_db]))

    report_results(facts, load_before, tpcb, runs, http, layers, reports, args.populations)
    print(f"bench took {time.monotonic() - started:.0f} s")
    failed = sum(r.failures for r in [*tpcb, *runs])
    return 0 if all(r.ok for r in reports) and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
