"""Shop purchases per second through the API against keyed transfers in the same run.

    uv run python -m bench.purchase            # 16 clients, 10 s per run, 10,000 members, 5 rounds
    uv run python -m bench.purchase --quick    # CI-sized
    uv run python -m bench.purchase --help

Issue 12's goal: purchases/s through the API on PostgreSQL (16 clients, each request with its
own ``Idempotency-Key``, as the bot sends ``shop-buy:<interaction id>``) at least 0.8 × keyed
transfers/s measured in the same run. Everything happens on the local PostgreSQL at
127.0.0.1:5432 (user ``postgres``, trust auth) in a database this script creates and drops:

1. Set-up: the schema (``migrate.upgrade``), one guild with ``--members`` bulk-loaded members
   (``bench/ledger_data.py``), each funded with 10⁹ bytes from the mint (no purchase or
   transfer is ever refused), and ``--items`` shop items priced 1–100 bytes: most of them
   unlimited, ``--limited`` of them with a stock no run can sell out, none with a
   per-member limit, requirements or actions (the plain "buy a cookie" of the seed; no shop
   channel, so no Discord post). The integrity check must pass before anything is timed.
2. The service layer, one purchase at a time (``--sequential`` of them): Python CPU and
   database round trips per purchase and per keyed transfer (``bench/transfer_layers.py``'s
   counter: engine statements, BEGIN/COMMIT, driver-pool statements).
3. The real server (``bench/http_load.py``: uvicorn, uvloop, httptools, one worker) driven by
   wrk with ``--clients`` keep-alive connections: keyed transfers between random members,
   then keyed purchases (a random member buys one of a random item), then keyed transfers
   again. The reference is the mean of both transfer runs (drift shows). ``--rounds`` such
   rounds (5; 1 with ``--quick``), each with fresh keys and its own server; the target is
   their median ratio, as single rounds on two shared cores ranged 0.72–0.91.
4. Checks over everything written: the ledger's integrity check; the shop account holds the
   sum of every purchase's total; each item's sales (the sum of its ``shop_item_sales``
   shards) equal its purchases.

Reported, never asserted (the exit code is 1 when a check fails or a request failed).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import uvloop

from bench import http_load
from bench.http_load import MAX_AMOUNT, USER_PREFIX, Target, running_server, wrk_run
from bench.ledger_data import LedgerShape, bulk_load, check_ok, register, user_id
from bench.measure import (
    HOST,
    CpuMeter,
    RunResult,
    children_cpu,
    drop_databases,
    pg_dsn,
    pg_url,
    prepare_databases,
)
from bench.transfer_layers import RoundTripCounter, service_transfer
from bench.transfers import bench_services, fund_members
from guildbank.features.shop import admin as shop_admin
from guildbank.features.shop import service as shop_service
from guildbank.ledger.accounts import SHOP_ACCOUNTS
from guildbank.platform import apikeys
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work

GUILD = "900000000000000777"
LIMITED_STOCK = 10**9  # no run sells it out: every purchase is a full one
_keys = itertools.count()
# On a machine shared with other work the app's imports alone can take 20 s: wait longer for
# the server than http_load's default before giving up.
SERVER_START_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Shop:
    """The bench guild's members (numbered from 1) and its item ids."""

    members: int
    items: list[int]

    def pick(self, rng: random.Random) -> tuple[int, int]:
        return rng.randint(1, self.members), rng.choice(self.items)


# --------------------------------------------------------------------------- set-up


async def prepare(database: str, members: int, items: int, limited: int) -> tuple[str, Shop]:
    """Load, fund and check the guild, stock its shop; returns an API key and the shop."""
    async with bench_services(database) as services:
        await register(services, GUILD)
        await bulk_load(pg_url(database), GUILD, LedgerShape(members=members, dormant_share=1.0))
        await fund_members(database, GUILD)
        ids = []
        async with unit_of_work(services) as uow:
            for n in range(items):
                values = {
                    "name": f"Bench item {n + 1}",
                    "price": 1 + (n * 37) % MAX_AMOUNT,
                    "category": "bench",
                    "stock": LIMITED_STOCK if n < limited else -1,
                }
                created = await shop_admin.create_item(uow, guild_id=GUILD, values=values)
                ids.append(created.id)
            _, token = await apikeys.create_api_key(uow, name="bench", scopes=("read", "write"))
            await uow.commit()
        await check_ok(services, GUILD)
    return token, Shop(members, ids)


# --------------------------------------------------------------------------- service layer


def purchase_body(member: int, item: int) -> bytes:
    del item  # the item is in the path
    return f'{{"user_id":"{user_id(member)}","quantity":1}}'.encode()


def purchase_path(item: int) -> str:
    return f"/api/guilds/{GUILD}/shop/{item}/buy"


async def service_purchase(services: Services, shop: Shop, rng: random.Random) -> None:
    """One keyed purchase in its own unit of work, as the API's buy route runs it."""
    member, item = shop.pick(rng)
    keyed = IdempotentRequest.of(
        owner=1,
        key=f"bench-purchase-{next(_keys)}",
        guild_id=GUILD,
        method="POST",
        path=purchase_path(item),
        body=purchase_body(member, item),
    )
    async with unit_of_work(services) as uow:
        await shop_service.purchase(
            uow, guild_id=GUILD, user_id=user_id(member), item_id=item, quantity=1, keyed=keyed
        )
        await uow.commit()


@dataclass(frozen=True, slots=True)
class Sequential:
    name: str
    cpu_us: float
    round_trips: float


async def sequential(database: str, shop: Shop, operations: int) -> list[Sequential]:
    """Python CPU and round trips per operation, one at a time (min CPU of 3 rounds)."""
    out = []
    async with bench_services(database) as services:
        counter = RoundTripCounter(services)
        await counter.watch_driver_pool(services)
        transfers = Target(f"/api/guilds/{GUILD}/bytes/transactions", shop.members, keyed=True)

        async def transfer(rng: random.Random) -> None:
            await service_transfer(services, transfers, rng)

        async def purchase(rng: random.Random) -> None:
            await service_purchase(services, shop, rng)

        for name, verb in (("keyed transfer", transfer), ("keyed purchase", purchase)):
            best = float("inf")
            rng = random.Random(7)
            for _ in range(10):
                await verb(rng)  # warm-up
            for _ in range(3):
                counter.reset()
                started = time.process_time()
                for _ in range(operations):
                    await verb(rng)
                best = min(best, (time.process_time() - started) / operations * 1e6)
            out.append(Sequential(name, best, counter.round_trips / operations))
        await services.relay.drain()
    return out


# --------------------------------------------------------------------------- HTTP

# A random member buys one of a random item, each request with its own Idempotency-Key.
WRK_PURCHASES = """
local members, counter = {members}, 0
local items = {{{items}}}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"

function init(args)
  math.randomseed({seed})
end

function request()
  local member = math.random(members)
  local item = items[math.random(#items)]
  local body = string.format('{{"user_id":"{prefix}%09d","quantity":1}}', member)
  counter = counter + 1
  local headers = {{}}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Idempotency-Key"] = string.format("shop-buy:{seed}-%d", counter)
  return wrk.format(nil, "/api/guilds/{guild}/shop/" .. item .. "/buy", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("GB_RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_purchases(
    port: int, token: str, shop: Shop, *, clients: int, seconds: int, seed: int
) -> RunResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="gb-wrk-") as script:
        script.write(
            WRK_PURCHASES.format(
                members=shop.members,
                items=",".join(map(str, shop.items)),
                token=token,
                seed=seed,
                prefix=USER_PREFIX,
                guild=GUILD,
            )
        )
        script.flush()
        command = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s"]
        command += ["-s", script.name, f"http://{HOST}:{port}/"]
        run = subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=seconds + 60
        )
    line = next((x for x in run.stdout.splitlines() if x.startswith("GB_RESULT ")), None)
    if line is None:
        msg = f"wrk printed no result:\n{run.stdout}\n{run.stderr}"
        raise RuntimeError(msg)
    requests, duration_us, status, *errors, p50_us, p99_us = (int(x) for x in line.split()[1:])
    return RunResult(
        "",
        requests - status,
        duration_us / 1e6,
        p50_us / 1000,
        p99_us / 1000,
        failures=status + sum(errors),
    )


def http_runs(
    database: str, token: str, shop: Shop, *, clients: int, seconds: int, seed: int
) -> list[RunResult]:
    """Transfers, purchases, transfers again: one server, each run after a warm-up."""
    transfers = Target(f"/api/guilds/{GUILD}/bytes/transactions", shop.members, keyed=True)

    def transfer_run(port: int, seconds: int, seed: int) -> RunResult:
        return wrk_run(port, token, transfers, clients=clients, seconds=seconds, seed=seed)

    def purchase_run(port: int, seconds: int, seed: int) -> RunResult:
        return wrk_purchases(port, token, shop, clients=clients, seconds=seconds, seed=seed)

    runs = []
    http_load.SERVER_START_TIMEOUT = max(http_load.SERVER_START_TIMEOUT, SERVER_START_TIMEOUT)
    with running_server(pg_url(database), 1, reuse_port=False) as (port, pids):
        warm = max(1, min(3, seconds // 5))
        for index, (name, drive) in enumerate(
            (
                ("HTTP transfers, keyed (first)", transfer_run),
                ("HTTP purchases, keyed", purchase_run),
                ("HTTP transfers, keyed (last)", transfer_run),
            )
        ):
            say(f"{name}: {clients} clients, {seconds} s")
            drive(port, warm, -seed - index)
            client_before = children_cpu()
            with CpuMeter(database, roots=pids) as meter:
                result = drive(port, seconds, seed + index)
            result.name = name
            result.client_cpu = children_cpu() - client_before
            result.app_cpu = meter.tree_cpu
            result.db_cpu = meter.database_cpu
            runs.append(result)
    return runs


# --------------------------------------------------------------------------- checks


async def shop_checks(database: str, services_ok: bool) -> list[str]:
    """The shop account against the purchases, each item's sales against its purchases."""
    problems = [] if services_ok else ["the ledger's integrity check failed"]
    connection = await asyncpg.connect(pg_dsn(database))
    try:
        shop_balance = await connection.fetchval(
            "SELECT sum(balance) FROM accounts WHERE guild_id = $1 AND user_id = ANY($2::text[])",
            GUILD,
            list(SHOP_ACCOUNTS),
        )
        paid, bought = await connection.fetchrow(
            "SELECT coalesce(sum(total), 0), count(*) FROM shop_purchases WHERE guild_id = $1",
            GUILD,
        )
        if shop_balance != paid:
            problems.append(f"shop account holds {shop_balance}, purchases paid {paid}")
        mismatched = await connection.fetchval(
            "SELECT count(*) FROM shop_items i WHERE guild_id = $1 AND "
            "(SELECT coalesce(sum(sold), 0) FROM shop_item_sales s WHERE s.item_id = i.id) <> "
            "(SELECT coalesce(sum(quantity), 0) FROM shop_purchases p WHERE p.item_id = i.id)",
            GUILD,
        )
        if mismatched:
            problems.append(f"{mismatched} items' sales_count differ from their purchases")
        say(f"checked {bought:,} purchases ({paid:,} bytes) against the shop account")
    finally:
        await connection.close()
    return problems


async def final_checks(database: str) -> list[str]:
    async with bench_services(database) as services:
        try:
            report = await check_ok(services, GUILD)
        except SystemExit as error:  # check_ok's way of saying the ledger is inconsistent
            say(str(error))
            return await shop_checks(database, services_ok=False)
        say(f"integrity ok: {report.accounts:,} accounts, {report.transactions:,} transactions")
    return await shop_checks(database, services_ok=True)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a short, small run (CI-sized)")
    parser.add_argument("--seconds", type=int, help="each HTTP run (10)")
    parser.add_argument("--clients", type=int, default=16, help="keep-alive connections (16)")
    parser.add_argument("--members", type=int, help="members of the bench guild (10000)")
    parser.add_argument("--items", type=int, default=20, help="items in the shop (20)")
    parser.add_argument("--limited", type=int, default=5, help="of them with a stock (5)")
    parser.add_argument("--sequential", type=int, help="operations per sequential round (300)")
    parser.add_argument(
        "--rounds", type=int, help="transfer/purchase/transfer rounds; target: their median (5)"
    )
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    defaults = (
        {"seconds": 3, "members": 2_000, "sequential": 50, "rounds": 1}
        if args.quick
        else {"seconds": 10, "members": 10_000, "sequential": 300, "rounds": 5}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.items < 1 or not 0 <= args.limited <= args.items or args.members < 2:
        parser.error("need an item, 0 <= --limited <= --items, and 2 members")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if shutil.which("wrk") is None:
        parser.error("wrk is needed (make bench installs it)")
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reference_of(runs: Sequence[RunResult]) -> float:
    """The mean of a round's two keyed transfer runs (nan when every transfer failed)."""
    transfers = [r.per_second for r in runs if r.name.startswith("HTTP transfers")]
    mean = sum(transfers) / len(transfers)
    return mean if mean else float("nan")


def ratio(runs: Sequence[RunResult]) -> float:
    """One round's purchases/s over its reference."""
    purchases = next(r for r in runs if r.name.startswith("HTTP purchases"))
    return purchases.per_second / reference_of(runs)


def print_round(number: int, runs: Sequence[RunResult]) -> None:
    transfers = [r for r in runs if r.name.startswith("HTTP transfers")]
    reference = reference_of(runs)
    print()
    if math.isnan(reference):
        print(f"round {number}: every transfer failed: no reference, no ratios")
    print(f"round {number}: reference = mean of its keyed transfer runs = {reference:.0f}/s")
    drift = abs(transfers[0].per_second - transfers[-1].per_second) / reference
    if drift > 0.2:  # (never true for nan)
        print(f"warning: the two transfer runs differ by {drift:.0%}; rerun on a quiet machine")
    header = (
        f"{'run':<32} {'per s':>7} {'x transfers':>11} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6}"
        f" | {'CPU us/op: client':>17} {'python':>7} {'pg':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.name:<32} {run.per_second:>7.0f} {run.per_second / reference:>11.2f} "
            f"{run.p50_ms:>7.2f} {run.p99_ms:>7.2f} {run.failures:>6}"
            f" | {run.cpu_us(run.client_cpu):>17.0f} {run.cpu_us(run.app_cpu):>7.0f}"
            f" {run.cpu_us(run.db_cpu):>6.0f}"
        )


def report(
    layers: Sequence[Sequential], rounds: Sequence[Sequence[RunResult]], problems: list[str]
) -> None:
    print()
    print(f"load average now: {os.getloadavg()[0]:.2f} (2 shared cores: expect noise)")
    for number, runs in enumerate(rounds, 1):
        print_round(number, runs)
    print()
    print("Service layer, one at a time (CPU: min of 3 rounds):")
    for layer in layers:
        print(
            f"  {layer.name:<16} {layer.cpu_us:>6.0f} us Python CPU, "
            f"{layer.round_trips:.2f} round trips"
        )
    print()
    ratios = [ratio(runs) for runs in rounds]
    print(
        f"target: HTTP purchases, keyed >= 0.80 x keyed transfers: "
        f"{statistics.median(ratios):.2f} x (median of {len(ratios)} rounds: "
        f"{', '.join(f'{r:.2f}' for r in ratios)})"
    )
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    if not problems:
        print("checks: integrity ok, shop account = purchases paid, sales counts = purchases")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    database = f"guildbank_bench_purchase_{os.getpid()}"
    uvloop.run(prepare_databases([database]))
    try:
        upgrade(pg_url(database))
        say(f"loading {args.members:,} members and {args.items} items")
        token, shop = uvloop.run(prepare(database, args.members, args.items, args.limited))
        say(f"service layer: {args.sequential} of each, one at a time")
        layers = uvloop.run(sequential(database, shop, args.sequential))
        # Each round its own seed: the Idempotency-Keys the runs send are made from it.
        rounds = [
            http_runs(
                database,
                token,
                shop,
                clients=args.clients,
                seconds=args.seconds,
                seed=args.seed + 1_000 * number,
            )
            for number in range(args.rounds)
        ]
        problems = uvloop.run(final_checks(database))
    finally:
        uvloop.run(drop_databases([database]))
    report(layers, rounds, problems)
    print(f"bench took {time.monotonic() - started:.0f} s")
    failed = sum(r.failures for runs in rounds for r in runs)
    return 0 if not problems and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
