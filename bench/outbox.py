"""Outbox latency and throughput: a job written → its call made at the fake Discord.

    uv run python -m bench.outbox             # full size
    uv run python -m bench.outbox --quick     # CI-sized
    uv run python -m bench.outbox --backend postgres

Not a test: it prints numbers and asserts nothing but their completeness. Two processes, as in
production where Discord is elsewhere: a child process runs ``tests.fakes.discord.FakeDiscord``
(REST only) and records when each call arrived (``time.monotonic``, one clock for both
processes); this process runs the API in-process over a fresh database (SQLite by default),
and one ``OutboxWorker`` exactly as the bot runs it (its own hikari REST client, the
in-process API client, the long-poll lease woken by ``outbox.ready``).

Measured, each job a ``role.grant`` of its own (member, role) pair so its call is identified:

1. **Reference**: the same hikari REST client adding roles directly: one call at a time
   (p50/p99 latency: the floor of any path to Discord) and 8 at a time (calls/s: the ceiling).
2. **Idle**: ``--idle`` jobs written one at a time (each in its own unit of work, committed),
   each waited for before the next: latency from the commit to the fake receiving the call.
3. **1,000 queued**: ``--backlog`` jobs committed together while the worker waits for work;
   each job's latency from that commit to its call, and the drain rate (jobs/s) from the first
   call to the last, against the direct ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import hikari

from bench.child import ask, receive
from bench.ledger_data import drop_database, fresh_database
from bench.stats import percentile
from guildbank.features.guilds.service import register_guild
from guildbank.outbox.executor import Executor
from guildbank.outbox.service import enqueue_role_grants
from guildbank.outbox.worker import OutboxWorker
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.client import GuildbankClient
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.fakes.discord import FakeDiscord

TIMEOUT = 300.0
ROLE_PATH = "/guilds/{guild}/members/{user}/roles/{role}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--idle", type=int, default=300, help="jobs timed one at a time")
    parser.add_argument("--backlog", type=int, default=1000, help="jobs queued at once")
    parser.add_argument("--reference", type=int, default=300, help="direct REST calls")
    args = parser.parse_args(argv)
    if args.quick:
        args.idle, args.backlog, args.reference = 30, 200, 60
    return args


# --------------------------------------------------------------------------- the Discord side


def discord_process(pipe: Connection, members: int, roles: int) -> None:
    try:
        asyncio.run(_discord_main(pipe, members, roles))
    except BaseException as error:
        pipe.send(("error", repr(error)))
        raise


async def _discord_main(pipe: Connection, members: int, roles: int) -> None:
    async with FakeDiscord() as discord:
        guild = discord.add_guild(name="Bench")
        member_ids = [discord.add_member(guild.id, username=f"m{n}").id for n in range(members)]
        role_ids = [discord.add_role(guild.id, f"r{n}").id for n in range(roles)]
        pipe.send(
            {
                "token": discord.token,
                "rest_url": discord.rest_url,
                "guild": guild.id,
                "members": member_ids,
                "roles": role_ids,
            }
        )
        while True:
            command, _ = await asyncio.to_thread(pipe.recv)
            if command == "calls":
                pipe.send([(c.path, c.at, c.status) for c in discord.rest.calls])
                discord.rest.calls.clear()
            else:
                pipe.send("bye")
                return


# --------------------------------------------------------------------------- the guildbank side


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies),
    }


class Bench:
    def __init__(
        self, services: Services, info: dict[str, Any], pipe: Connection, process: Any
    ) -> None:
        self.services = services
        self.guild = str(info["guild"])
        self.pairs = iter(
            (str(user), str(role)) for role in info["roles"] for user in info["members"]
        )
        self.pipe, self.process = pipe, process

    def path(self, user: str, role: str) -> str:
        return ROLE_PATH.format(guild=self.guild, user=user, role=role)

    async def calls(self) -> dict[str, float]:
        """When the fake received each successful role call since the last ask."""
        recorded = await ask(self.pipe, self.process, "calls", seconds=TIMEOUT)
        return {path: at for path, at, status in recorded if status == 204}

    async def reference(self, rest: hikari.api.RESTClient, count: int) -> dict[str, Any]:
        pairs = [next(self.pairs) for _ in range(count)]
        started: dict[str, float] = {}
        for user, role in pairs[: count // 2]:
            started[self.path(user, role)] = time.monotonic()
            await rest.add_role_to_member(int(self.guild), int(user), int(role))
        gate = asyncio.Semaphore(8)

        async def one(user: str, role: str) -> None:
            async with gate:
                await rest.add_role_to_member(int(self.guild), int(user), int(role))

        first = time.monotonic()
        await asyncio.gather(*(one(u, r) for u, r in pairs[count // 2 :]))
        seconds = time.monotonic() - first
        arrived = await self.calls()
        latencies = [arrived[p] - t for p, t in started.items()]
        return _summary(latencies) | {"calls_per_second": (count - count // 2) / seconds}

    async def write(self, pairs: list[tuple[str, str]]) -> float:
        """Commit grant jobs for ``pairs`` in one unit of work; the moment it committed."""
        async with unit_of_work(self.services) as uow:
            for user, role in pairs:
                await enqueue_role_grants(
                    uow, guild_id=self.guild, user_id=user, role_ids=[role], reason="bench"
                )
            await uow.commit()
        return time.monotonic()

    async def drained(self, worker: OutboxWorker, target: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while worker.performed < target:  # noqa: ASYNC110 - a counter, polled finely
                await asyncio.sleep(0.0005)

    async def idle(self, worker: OutboxWorker, count: int) -> dict[str, Any]:
        written: dict[str, float] = {}
        for _ in range(count):
            user, role = next(self.pairs)
            target = worker.performed + 1
            written[self.path(user, role)] = await self.write([(user, role)])
            await self.drained(worker, target)
        arrived = await self.calls()
        return _summary([arrived[p] - t for p, t in written.items()])

    async def backlog(self, worker: OutboxWorker, count: int) -> dict[str, Any]:
        pairs = [next(self.pairs) for _ in range(count)]
        target = worker.performed + count
        committed = await self.write(pairs)
        await self.drained(worker, target)
        arrived = await self.calls()
        moments = [arrived[self.path(u, r)] for u, r in pairs]
        seconds = max(moments) - min(moments)
        return _summary([m - committed for m in moments]) | {
            "jobs_per_second": (count - 1) / seconds if seconds else float("inf")
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    members = 50
    roles = (args.idle + args.backlog + args.reference) // members + 2
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database(
            args.backend, f"guildbank_bench_outbox_{os.getpid()}", Path(folder)
        )
        settings = Settings(_env_file=None, database_url=url)
        services = build_services(settings)
        key = secrets.token_urlsafe(24)
        app = create_app(settings, services, internal_key=key)
        spawn = multiprocessing.get_context("spawn")
        pipe, child = spawn.Pipe()
        process = spawn.Process(target=discord_process, args=(child, members, roles), daemon=True)
        process.start()
        rest_app: hikari.RESTApp | None = None
        worker: OutboxWorker | None = None
        try:
            info = await receive(pipe, process, seconds=60)
            async with unit_of_work(services) as uow:
                await register_guild(uow, guild_id=str(info["guild"]), name="Bench")
                await uow.commit()
            rest_app = hikari.RESTApp(max_retries=0, max_rate_limit=10.0, url=info["rest_url"])
            await rest_app.start()
            rest = rest_app.acquire(info["token"], hikari.TokenType.BOT)
            rest.start()
            bench = Bench(services, info, pipe, process)
            results: dict[str, Any] = {"reference": await bench.reference(rest, args.reference)}
            worker = OutboxWorker(
                GuildbankClient.in_process(app, key), Executor(rest), wait_seconds=8.0
            )
            worker.start()
            results["idle"] = await bench.idle(worker, args.idle)
            results["backlog"] = await bench.backlog(worker, args.backlog)
            return results
        finally:
            if worker is not None:
                await worker.close()
                await worker.api.aclose()
            if rest_app is not None:
                await rest.close()
                await rest_app.close()
            if process.is_alive():
                await ask(pipe, process, "stop", seconds=TIMEOUT)
            process.join(10)
            await services.close()
            await drop_database(url)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    ref, idle, backlog = results["reference"], results["idle"], results["backlog"]
    print(f"outbox on {args.backend}, one worker, fake Discord in another process")
    print(
        f"reference  direct REST call     p50 {ref['p50_ms']:7.2f} ms  p99 {ref['p99_ms']:7.2f} ms"
        f"   {ref['calls_per_second']:7.0f} calls/s (8 at a time)"
    )
    for name, row in (("idle", idle), (f"{args.backlog} queued", backlog)):
        print(
            f"{name:<12}job → Discord call  p50 {row['p50_ms']:7.2f} ms"
            f"  p99 {row['p99_ms']:7.2f} ms   ({row['n']} jobs;"
            f" p50 = {row['p50_ms'] / ref['p50_ms']:.1f}× a direct call)"
        )
    print(
        f"throughput {backlog['jobs_per_second']:7.0f} jobs/s through one worker"
        f" = {backlog['jobs_per_second'] / ref['calls_per_second']:.2f}× direct calls/s"
    )


if __name__ == "__main__":
    main()
