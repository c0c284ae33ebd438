"""Embedded SQLite under 32 concurrent writers: latency percentiles of transfers and dailies.

Run from the repository root: ``uv run python -m bench.sqlite_load`` (``--quick`` for a short
CI-sized run, ``--help`` for the knobs). Results and their reading are in ``bench/README.md``.

A real ``guildbank web`` process (the CLI, uvicorn) serves a fresh migrated SQLite file in a
temporary folder; ``--clients`` keep-alive HTTP connections from this process each loop over
a mix of writes: transfers between funded members and first daily claims of new members (the
claim that opens the account). Every request must answer 200; p50, p99 and max latency are
reported per kind and overall, after a warm-up.

The same load runs twice, against the server as shipped and against one started with the
in-process writer queue switched off (``platform.engine.SQLITE_WRITE_QUEUE``), so that
writers wait in SQLite's busy handler instead: the reference, measured in the same run.
The goal (issue 10) is p99 <= 10 x p50 at 32 writers. Nothing here is asserted on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.stats import percentile
from guildbank.features.economy import admin as economy_admin
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform import apikeys
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import unit_of_work
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.fakes.ports import free_port

HOST = "127.0.0.1"
GUILD_ID = "900000000000000002"
FIRST_USER_ID = 100_000_000_000  # funded member i: FIRST_USER_ID + i
FIRST_NEWCOMER_ID = 200_000_000_000  # each daily claim is by a new member, from here up
MEMBER_FLOAT = 10**9  # no transfer of at most MAX_AMOUNT is ever refused
MAX_AMOUNT = 100
SERVER_START_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parent.parent
SERVE = "from guildbank.cli import app; app()"
SERVE_WITHOUT_QUEUE = (
    "import guildbank.platform.engine as engine; engine.SQLITE_WRITE_QUEUE = False; " + SERVE
)


@dataclass
class Samples:
    """Latencies (seconds) by kind of request, and statuses that were not 200."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, kind: str, latency: float) -> None:
        self.latencies.setdefault(kind, []).append(latency)

    @property
    def everything(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


async def prepare(database_url: str, members: int) -> str:
    """Migrate, register the guild (rate limit off), fund the members; returns an API key."""
    upgrade(database_url)
    services = build_services(Settings(database_url=database_url, redis_url=""))
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD_ID, name="bench")
            await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
            _, token = await apikeys.create_api_key(uow, name="bench", scopes=("read", "write"))
            await uow.commit()
        for i in range(1, members + 1):
            async with unit_of_work(services) as uow:
                await economy_admin.adjust_balance(
                    uow,
                    guild_id=GUILD_ID,
                    user_id=str(FIRST_USER_ID + i),
                    action="add",
                    amount=MEMBER_FLOAT,
                    reason="bench float",
                    actor_id=None,
                )
                await uow.commit()
    finally:
        await services.close()
    return token


@contextlib.contextmanager
def running_server(database_url: str, launch: str, cwd: str) -> Iterator[str]:
    """``guildbank web`` in its own process; yields its base URL, stops it with SIGTERM."""
    port = free_port()
    env = {
        **os.environ,
        "GUILDBANK_DATABASE_URL": database_url,
        "GUILDBANK_REDIS_URL": "",
        "GUILDBANK_PORT": str(port),
        "GUILDBANK_LOG_LEVEL": "WARNING",
        "GUILDBANK_ENV": "development",
        "PYTHONPATH": str(ROOT / "src"),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", launch, "web"], env=env, cwd=cwd, stdout=subprocess.DEVNULL
    )
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def wait_until_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{base}/health") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    msg = f"guildbank web did not answer at {base}"
    raise RuntimeError(msg)


async def load(
    base: str, token: str, *, clients: int, members: int, seconds: float, warmup: float
) -> Samples:
    """``clients`` connections sending transfers (3 in 4) and first dailies (1 in 4)."""
    samples = Samples()
    newcomers = iter(range(FIRST_NEWCOMER_ID, FIRST_NEWCOMER_ID + 10**9))
    prefix = f"{base}/api/guilds/{GUILD_ID}/bytes"
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await wait_until_up(session, base)
        start = time.monotonic()
        measure_from, stop = start + warmup, start + warmup + seconds

        async def client(rng: random.Random) -> None:
            while (now := time.monotonic()) < stop:
                if rng.random() < 0.25:
                    kind, url, body = "daily", f"{prefix}/daily/{next(newcomers)}", None
                else:
                    giver, receiver = rng.sample(range(1, members + 1), 2)
                    kind, url = "transfer", f"{prefix}/transactions"
                    body = {
                        "giver_id": str(FIRST_USER_ID + giver),
                        "receiver_id": str(FIRST_USER_ID + receiver),
                        "amount": rng.randint(1, MAX_AMOUNT),
                    }
                async with session.post(url, json=body) as response:
                    await response.read()
                    status = response.status
                latency = time.monotonic() - now
                if now < measure_from:
                    continue
                if status == 200:
                    samples.add(kind, latency)
                else:
                    samples.failures[f"{kind} {status}"] += 1

        await asyncio.gather(*(client(random.Random(seed)) for seed in range(clients)))
        samples.seconds = time.monotonic() - measure_from
    return samples


def report(name: str, samples: Samples) -> list[str]:
    rows = []
    for kind, values in [*sorted(samples.latencies.items()), ("all", samples.everything)]:
        if not values:
            continue
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        rows.append(
            f"| {name} | {kind} | {len(values)} | {len(values) / samples.seconds:.0f} | "
            f"{p50 * 1000:.1f} | {p99 * 1000:.1f} | {max(values) * 1000:.1f} | "
            f"{p99 / p50:.1f} |"
        )
    failures = ", ".join(f"{k}: {n}" for k, n in sorted(samples.failures.items())) or "none"
    rows.append(f"| {name} | failures | {failures} | | | | | |")
    return rows


async def run_variant(launch: str, args: argparse.Namespace) -> Samples:
    with tempfile.TemporaryDirectory(prefix="gb-sqlite-load-") as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'load.db'}"
        token = await prepare(database_url, args.members)
        with running_server(database_url, launch, folder) as base:
            return await load(
                base,
                token,
                clients=args.clients,
                members=args.members,
                seconds=args.seconds,
                warmup=args.warmup,
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="a short run (8 s, 1 s warm-up)")
    parser.add_argument(
        "--only-queued", action="store_true", help="skip the reference without the queue"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 8.0, 1.0
    return args


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = [("writer queue", SERVE)]
    if not args.only_queued:
        variants.append(("busy handler only", SERVE_WITHOUT_QUEUE))
    rows = [
        f"{args.clients} clients, {args.members} members, {args.seconds:.0f} s after "
        f"{args.warmup:.0f} s warm-up; latencies in ms",
        "",
        "| server | kind | requests | per s | p50 | p99 | max | p99/p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    failed = False
    for name, launch in variants:
        samples = await run_variant(launch, args)
        rows += report(name, samples)
        failed |= bool(samples.failures)
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
