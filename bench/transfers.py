"""Transfers per second through the HTTP API and the service layer, against pgbench's TPC-B.

Run with ``make bench`` (or, from the repository root, ``uv run python -m bench.transfers
--help``); results and their reading are in ``bench/README.md``. Everything happens on the
local PostgreSQL at 127.0.0.1:5432 (user ``postgres``, trust auth), in databases this script
creates and drops:

1. ``pgbench -i`` and a built-in TPC-B run with the same number of clients and duration:
   the reference, measured on the same server in the same run (once first and once last;
   the reference is their mean, so drift from other load on the machine shows).
2. A migrated guildbank database with one guild (rate limit off) and ``--members`` members,
   each holding enough bytes that no transfer is refused.
3. The service layer alone: ``--clients`` asyncio tasks in this process, each running
   ``economy.transfer`` in its own unit of work, as an adapter does.
4. Where the time goes: Python CPU per transfer through each layer, one at a time.
5. The real server (``uvicorn`` serving ``guildbank.runtime.app.create_app`` through a factory,
   uvloop and httptools) with 1 and 2 workers and as 2 SO_REUSEPORT processes, driven by
   ``--clients`` keep-alive HTTP/1.1 connections from a separate process: ``wrk`` with a Lua
   script when installed (``make bench`` installs it), otherwise a raw-asyncio client.
6. pgbench driving the transfer's own SQL (``guildbank_post``): the design with no Python.
7. The ledger integrity check over everything the runs wrote; it must report ``ok``.

Besides throughput and latency, each run reports the CPU time spent per operation by the
load generator, by the Python process(es) and by the PostgreSQL processes of its database
(sampled from /proc): on a small machine that is where the ceiling comes from.
Performance is reported as a ratio against TPC-B measured in the same run, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import service as economy
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.ledger import integrity, posting
from guildbank.ledger.legs import Leg, transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform import apikeys
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.fakes.ports import free_port

HOST = "127.0.0.1"  # the benchmark never targets anything else
PG_PORT = 5432
PG_USER = "postgres"
GUILD_ID = "900000000000000001"
FIRST_USER_ID = 100_000_000_000  # member i has user id FIRST_USER_ID + i (a valid snowflake)
MEMBER_FLOAT = 10**9  # bytes per member: no transfer of at most MAX_AMOUNT is ever refused
MAX_AMOUNT = 100
TRANSFER_PATH = f"/api/guilds/{GUILD_ID}/bytes/transactions"
ROOT = Path(__file__).resolve().parent.parent  # where ``bench.transfers`` imports from
SERVER_START_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    """One measured run: operations, time, latencies and CPU seconds by whom."""

    name: str
    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int = 0
    client_cpu: float = 0.0  # the load generator (pgbench, wrk, the Python client)
    app_cpu: float = 0.0  # the Python process(es) running guildbank
    db_cpu: float = 0.0  # the PostgreSQL backends connected to the run's database
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds > 0 else 0.0

    def cpu_us(self, seconds: float) -> float:
        """CPU microseconds per operation."""
        return seconds / self.operations * 1e6 if self.operations else 0.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def summarise(name: str, latencies: list[float], seconds: float, failures: int = 0) -> RunResult:
    """A result from per-operation latencies in seconds."""
    latencies.sort()
    return RunResult(
        name,
        len(latencies),
        seconds,
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.99) * 1000,
        failures,
    )


# --------------------------------------------------------------------------- CPU accounting


def children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds used, while the block runs, by the PostgreSQL processes of one database
    (backends and autovacuum workers: their titles name it) and by the process trees of
    ``roots`` (e.g. a uvicorn server and its workers).

    /proc is sampled every ``interval`` seconds so that processes ending during the block
    (pgbench's backends) are counted up to their last sample.
    """

    def __init__(self, database: str, roots: Sequence[int] = (), interval: float = 0.5):
        self.database = database
        self.roots = set(roots)
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._backend: dict[int, bool] = {}
        self._tree: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _scan(self) -> dict[int, float]:
        """CPU seconds of every process of interest now."""
        found: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = Path(f"/proc/{pid}/stat").read_bytes()
                if pid not in self._backend:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    self._backend[pid] = title.startswith(b"postgres: ") and (
                        f" {self.database} ".encode() in title
                    )
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2 :].split()
            parent = int(fields[1])
            if pid in self.roots or parent in self._tree:
                self._tree.add(pid)
            if self._backend[pid] or pid in self._tree:
                found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return found

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._last.update(self._scan())

    def __enter__(self) -> CpuMeter:
        self._first = self._scan()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._scan())

    def _used(self, pids: Callable[[int], bool]) -> float:
        return sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items() if pids(pid))

    @property
    def database_cpu(self) -> float:
        return self._used(lambda pid: self._backend.get(pid, False))

    @property
    def tree_cpu(self) -> float:
        return self._used(lambda pid: pid in self._tree)

    def tree_shares(self) -> list[float]:
        """CPU seconds of each process of the tree, largest first."""
        last, first = self._last.items(), self._first
        return sorted((cpu - first.get(p, 0.0) for p, cpu in last if p in self._tree), reverse=True)


# --------------------------------------------------------------------------- databases


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{HOST}:{PG_PORT}/{database}"


async def admin_execute(*statements: str) -> list[str]:
    """Run statements outside a transaction on the ``postgres`` database; first columns back."""
    engine = create_async_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            results = [await connection.execute(text(s)) for s in statements]
            return [str(r.scalar()) if r.returns_rows else "" for r in results]
    finally:
        await engine.dispose()


async def prepare_databases(names: Sequence[str]) -> dict[str, str]:
    """Create fresh databases; returns the server's version and the settings that matter."""
    for name in names:
        await admin_execute(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
        )
    settings = (
        "server_version",
        "shared_buffers",
        "synchronous_commit",
        "fsync",
        "wal_level",
        "max_connections",
        "max_wal_size",
    )
    values = await admin_execute(*(f"SHOW {name}" for name in settings))
    return dict(zip(settings, values, strict=True))


async def drop_databases(names: Sequence[str]) -> None:
    await admin_execute(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


# --------------------------------------------------------------------------- pgbench

PGBENCH = ["-h", HOST, "-p", str(PG_PORT), "-U", PG_USER]


def pgbench_path() -> str:
    return shutil.which("pgbench") or "/usr/bin/pgbench"


def pgbench_init(database: str, scale: int) -> None:
    subprocess.run(
        [pgbench_path(), *PGBENCH, "-i", "-q", "-s", str(scale), database],
        check=True,
        capture_output=True,
        timeout=300,
    )


def pgbench_run(
    database: str,
    *,
    name: str,
    clients: int,
    seconds: int,
    script: str | None = None,
    extra: Sequence[str] = (),
) -> RunResult:
    """Run pgbench (built-in TPC-B, or ``script``); latencies come from its transaction log."""
    threads = min(clients, os.cpu_count() or 1)
    client_before = children_cpu()
    with (
        tempfile.TemporaryDirectory(prefix="gb-pgbench-") as work,
        CpuMeter(database) as meter,
    ):
        command = [pgbench_path(), *PGBENCH, "-c", str(clients), "-j", str(threads), *extra]
        if script is not None:
            script_file = Path(work) / "script.sql"
            script_file.write_text(script)
            command += ["-n", "-f", str(script_file)]
        command += ["-T", str(seconds), "-l", "--log-prefix", str(Path(work) / "tx"), database]
        run = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        latencies: list[float] = []
        for log in Path(work).glob("tx.*"):
            for line in log.read_text().splitlines():
                columns = line.split()
                if len(columns) >= 3 and columns[2].isdigit():  # "skipped"/"failed" are not
                    latencies.append(int(columns[2]) / 1e6)
    tps = re.search(r"^tps = ([0-9.]+)", run.stdout, re.MULTILINE)
    if tps is None:
        msg = f"could not read tps from pgbench:\n{run.stdout}\n{run.stderr}"
        raise RuntimeError(msg)
    failed = re.search(r"^number of failed transactions: (\d+)", run.stdout, re.MULTILINE)
    result = summarise(name, latencies, seconds, failures=int(failed.group(1)) if failed else 0)
    # pgbench's own tps excludes connection time; use it rather than count / duration.
    result.seconds = len(latencies) / float(tps.group(1))
    result.client_cpu = children_cpu() - client_before
    result.db_cpu = meter.database_cpu
    what = "built-in tpcb-like" if script is None else "custom script"
    result.notes.append(
        f"pgbench -c {clients} -j {threads} {' '.join(extra)} -T {seconds} ({what})".replace(
            "  ", " "
        )
    )
    return result


# The transfer as the database sees it from the service layer (BEGIN, one prepared call of
# guildbank_post, COMMIT), driven by pgbench: the ceiling of the design with no Python at all.
TRANSFER_SCRIPT = """
\\set g random({low}, {high})
\\set r random({low}, {high} - 1)
\\set r case when :r >= :g then :r + 1 else :r end
\\set amt random(1, {max_amount})
\\set lo least(:g, :r)
\\set hi greatest(:g, :r)
\\set a1 case when :g < :r then -:amt else :amt end
\\set a2 -:a1
\\set in1 case when :g < :r then 0 else :amt end
\\set in2 case when :g < :r then :amt else 0 end
BEGIN;
SELECT o_tx, o_created, o_account, o_amount, o_before, o_after, o_received FROM guildbank_post(
  '{guild}', 'transfer', :amt::bigint, NULL, 'pgbench', NULL, now(),
  ARRAY[:lo::bigint, :hi::bigint], ARRAY[:a1::bigint, :a2::bigint],
  ARRAY[:in1::bigint, :in2::bigint], ARRAY[:in2::bigint, :in1::bigint]);
END;
"""


async def member_account_range(database: str) -> tuple[int, int] | None:
    """The member accounts' id range when contiguous (it is: they are opened in one go)."""
    engine = create_async_engine(pg_url(database))
    try:
        async with engine.connect() as connection:
            low, high, count = (
                await connection.execute(
                    text(
                        "SELECT min(id), max(id), count(*) FROM accounts "
                        "WHERE guild_id = :guild AND NOT is_system"
                    ),
                    {"guild": GUILD_ID},
                )
            ).one()
    finally:
        await engine.dispose()
    return (low, high) if count > 1 and high - low + 1 == count else None


def pgbench_transfers(database: str, *, clients: int, seconds: int) -> RunResult | None:
    """pgbench driving the transfer's own SQL against the guildbank database."""
    accounts = uvloop.run(member_account_range(database))
    if accounts is None:
        return None
    script = TRANSFER_SCRIPT.format(
        low=accounts[0], high=accounts[1], max_amount=MAX_AMOUNT, guild=GUILD_ID
    )
    return pgbench_run(
        database,
        name="pgbench: guildbank_post, no Python",
        clients=clients,
        seconds=seconds,
        script=script,
        extra=["-M", "prepared"],
    )


# --------------------------------------------------------------------------- guildbank set-up


def member_ids(members: int) -> list[str]:
    return [str(FIRST_USER_ID + i) for i in range(1, members + 1)]


def bench_settings(database_url: str) -> Settings:
    # Explicit values win over the environment and any .env file of the checkout.
    return Settings(database_url=database_url, redis_url="", log_level="WARNING")


@contextlib.asynccontextmanager
async def bench_services(database_url: str) -> AsyncIterator[Services]:
    """Services as a web process builds them, closed at the end of the block."""
    services = build_services(bench_settings(database_url))
    try:
        yield services
    finally:
        await services.close()


async def prepare_guild(services: Services, members: list[str], concurrency: int) -> str:
    """Register the guild (rate limit off), fund every member; returns a new API key."""
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=GUILD_ID, name="bench")
        await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
        _, token = await apikeys.create_api_key(uow, name="bench", scopes=("read", "write"))
        await uow.commit()

    queue = list(members)

    async def fund() -> None:
        while queue:
            user_id = queue.pop()
            async with unit_of_work(services) as uow:
                await economy_admin.adjust_balance(
                    uow,
                    guild_id=GUILD_ID,
                    user_id=user_id,
                    action="add",
                    amount=MEMBER_FLOAT,
                    reason="bench float",
                    actor_id=None,
                )
                await uow.commit()

    await asyncio.gather(*(fund() for _ in range(concurrency)))
    return token


class _CountedPool:
    """The driver pool, counting the statements the transfer's standalone posting sends."""

    def __init__(self, pool: Any, counter: RoundTripCounter) -> None:
        self._pool = pool
        self._counter = counter

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        self._counter.statements += 1
        return await self._pool.fetch(*args, **kwargs)


class RoundTripCounter:
    """Counts what is sent: the engine's statements plus BEGIN/COMMIT/ROLLBACK (one trip
    each), and the standalone postings on the driver pool (one autocommitted trip each)."""

    def __init__(self, services: Services) -> None:
        self.statements = 0
        self.transaction_control = 0
        engine = services.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._control)

    async def watch_driver_pool(self, services: Services) -> None:
        """Count the driver pool's statements too (the transfer's one-round-trip path)."""
        pool = await services.standalone_pool()
        if pool is None:
            return
        counted = _CountedPool(pool, self)

        async def counted_pool() -> Any:
            return counted

        # asyncpg's Pool has __slots__: count through a stand-in rather than patching it.
        services.standalone_pool = counted_pool  # type: ignore[method-assign]

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _control(self, *_: Any) -> None:
        self.transaction_control += 1

    def reset(self) -> None:
        self.statements = self.transaction_control = 0


async def service_layer_run(
    services: Services, database: str, members: list[str], *, clients: int, seconds: int, seed: int
) -> RunResult:
    """``clients`` tasks, each transferring in its own unit of work until time is up."""
    counter = RoundTripCounter(services)
    await counter.watch_driver_pool(services)
    latencies: list[float] = []

    async def client(rng: random.Random, deadline: float) -> None:
        while (started := time.perf_counter()) < deadline:
            giver, receiver = rng.sample(members, 2)
            async with unit_of_work(services) as uow:
                await economy.transfer(
                    uow,
                    guild_id=GUILD_ID,
                    giver_id=giver,
                    receiver_id=receiver,
                    amount=rng.randint(1, MAX_AMOUNT),
                )
                await uow.commit()
            latencies.append(time.perf_counter() - started)

    # A short warm-up fills the pool, the prepared-statement and id caches.
    warm = time.perf_counter() + min(3.0, seconds / 5)
    await asyncio.gather(*(client(random.Random(seed - i), warm) for i in range(clients)))
    latencies.clear()
    counter.reset()

    cpu_before = time.process_time()
    with CpuMeter(database) as meter:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client(random.Random(seed + i), deadline) for i in range(clients)))
        elapsed = time.perf_counter() - started
    result = summarise("service layer (economy.transfer)", latencies, elapsed)
    result.app_cpu = time.process_time() - cpu_before
    result.db_cpu = meter.database_cpu
    per = max(1, result.operations)
    result.notes.append(
        f"{clients} asyncio tasks in one process (uvloop); "
        f"{(counter.statements + counter.transaction_control) / per:.2f} round trips per "
        f"transfer ({counter.statements / per:.2f} statements + BEGIN/COMMIT)"
    )
    return result


# --------------------------------------------------------------------------- the server


def server_app() -> FastAPI:
    """The uvicorn factory: the real app, configured from GUILDBANK_* variables."""
    return create_app(Settings())


def serve_reuse_port(port: int) -> None:
    """Serve the app on its own SO_REUSEPORT socket (one of several processes on ``port``)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((HOST, port))
    config = uvicorn.Config(
        server_app,
        factory=True,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run(sockets=[sock])


def http_status(port: int, path: str) -> int | None:
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
            )
            head = sock.recv(64)
    except OSError:
        return None
    return int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else None


@contextlib.contextmanager
def running_server(
    database_url: str, workers: int, *, reuse_port: bool
) -> Iterator[tuple[int, list[int]]]:
    """Start the real app on a free local port; yields the port and the server pids.

    ``uvicorn --workers N`` shares one listening socket, and the kernel may hand every
    keep-alive connection to the same worker. With ``reuse_port`` each of N single-worker
    uvicorn processes gets its own SO_REUSEPORT socket on the same port instead, and the
    kernel spreads the connections between them.
    """
    port = free_port()
    env = {
        **os.environ,
        "GUILDBANK_DATABASE_URL": database_url,
        "GUILDBANK_REDIS_URL": "",
        "GUILDBANK_LOG_LEVEL": "WARNING",
        "GUILDBANK_ENV": "development",
    }
    command = [sys.executable, "-m", "uvicorn", "bench.transfers:server_app", "--factory"]
    command += ["--app-dir", str(ROOT), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]
    servers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="gb-server-") as cwd:  # no stray .env is read
        try:
            if reuse_port:
                launch = f"from bench.transfers import serve_reuse_port; serve_reuse_port({port})"
                reuse_env = {**env, "PYTHONPATH": str(ROOT)}
                servers += [
                    subprocess.Popen([sys.executable, "-c", launch], env=reuse_env, cwd=cwd)
                    for _ in range(workers)
                ]
            else:
                command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
                servers.append(subprocess.Popen(command, env=env, cwd=cwd))
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while http_status(port, "/health") != 200:
                if any(s.poll() is not None for s in servers) or time.monotonic() > deadline:
                    msg = f"the server did not start ({[s.poll() for s in servers]})"
                    raise RuntimeError(msg)
                time.sleep(0.1)
            if reuse_port:
                time.sleep(2.0)  # the other processes started together; let them all listen
            yield port, [s.pid for s in servers]
        finally:
            for server in servers:
                server.send_signal(signal.SIGINT)
            for server in servers:
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


# --------------------------------------------------------------------------- load generators

WRK_SCRIPT = """
local first, members, max_amount = {first}, {members}, {max_amount}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"

function init(args)
  math.randomseed({seed})
end

function request()
  local giver = math.random(members)
  local receiver = math.random(members - 1)
  if receiver >= giver then receiver = receiver + 1 end
  local body = string.format('{{"giver_id":"%d","receiver_id":"%d","amount":%d}}',
    first + giver, first + receiver, math.random(max_amount))
  return wrk.format(nil, "{path}", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("GB_RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_run(
    port: int, token: str, members: int, *, clients: int, seconds: int, seed: int
) -> RunResult:
    """Drive the server with ``wrk`` (C, one thread, keep-alive connections)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="gb-wrk-") as script:
        script.write(
            WRK_SCRIPT.format(
                first=FIRST_USER_ID,
                members=members,
                max_amount=MAX_AMOUNT,
                token=token,
                seed=seed,
                path=TRANSFER_PATH,
            )
        )
        script.flush()
        command = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s"]
        command += ["-s", script.name, f"http://{HOST}:{port}/"]
        run = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
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


def _python_load(
    port: int, token: str, members: int, clients: int, seconds: int, seed: int
) -> tuple[list[float], dict[int, int], float]:
    """The raw-asyncio HTTP/1.1 load generator (runs in its own process)."""
    return uvloop.run(_python_load_async(port, token, members, clients, seconds, seed))


async def _python_load_async(
    port: int, token: str, members: int, clients: int, seconds: int, seed: int
) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    head = (
        f"POST {TRANSFER_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
    ).encode()

    async def client(rng: random.Random, deadline: float) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while (started := time.perf_counter()) < deadline:
                giver = rng.randint(1, members)
                receiver = rng.randint(1, members - 1)
                receiver += receiver >= giver
                body = (
                    f'{{"giver_id":"{FIRST_USER_ID + giver}","receiver_id":'
                    f'"{FIRST_USER_ID + receiver}","amount":{rng.randint(1, MAX_AMOUNT)}}}'
                ).encode()
                writer.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
                response = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", response)
                await reader.readexactly(int(length.group(1)) if length else 0)
                latencies.append(time.perf_counter() - started)
                statuses[int(response[9:12])] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(random.Random(seed + i), deadline) for i in range(clients)))
    return latencies, dict(statuses), time.perf_counter() - started


def python_run(
    port: int, token: str, members: int, *, clients: int, seconds: int, seed: int
) -> RunResult:
    """Drive the server from a separate Python process with raw keep-alive HTTP/1.1."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        latencies, statuses, elapsed = pool.submit(
            _python_load, port, token, members, clients, seconds, seed
        ).result(timeout=seconds + 60)
    ok = statuses.get(200, 0)
    result = summarise("", latencies, elapsed, failures=sum(statuses.values()) - ok)
    result.operations = ok
    return result


def api_run(
    database: str,
    token: str,
    members: int,
    *,
    workers: str,
    clients: int,
    seconds: int,
    load: str,
    seed: int,
) -> RunResult:
    """Start the server, warm it up, then measure transfers over HTTP.

    ``workers`` is a count (``uvicorn --workers N``) or a count followed by ``r``
    (N uvicorn processes on SO_REUSEPORT sockets).
    """
    drive = wrk_run if load == "wrk" else python_run
    reuse_port = workers.endswith("r")
    count = int(workers.removesuffix("r"))
    with running_server(pg_url(database), count, reuse_port=reuse_port) as (port, pids):
        warm = max(1, min(3, seconds // 5))
        drive(port, token, members, clients=clients, seconds=warm, seed=-seed)
        client_before = children_cpu()
        with CpuMeter(database, roots=pids) as meter:
            result = drive(port, token, members, clients=clients, seconds=seconds, seed=seed)
        result.client_cpu = children_cpu() - client_before
        result.app_cpu = meter.tree_cpu
        result.db_cpu = meter.database_cpu
    plural = "es" if count > 1 else ""
    result.name = (
        f"HTTP API, {count} process{plural} (reuseport)"
        if reuse_port
        else f"HTTP API, {count} worker{'s' if count > 1 else ''}"
    )
    how = (
        f"{count} x uvicorn, own SO_REUSEPORT sockets"
        if reuse_port
        else f"uvicorn --workers {count}"
    )
    busy = ", ".join(f"{cpu:.1f}" for cpu in meter.tree_shares() if cpu >= 0.05)
    result.notes.append(
        f"{how} (uvloop, httptools); load from {load}; CPU seconds per server process: {busy}"
    )
    return result


# --------------------------------------------------------------------------- where the time goes

LAYER_SQL = (
    "SELECT o_tx, o_created, o_account, o_amount, o_before, o_after, o_received "
    "FROM guildbank_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
Layer = Callable[[random.Random], Any]


def asgi_transfer(app: FastAPI, token: str, members: int) -> Layer:
    """One POST of a transfer straight into the ASGI app (no server, no socket)."""
    headers = [
        (b"host", HOST.encode()),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]

    async def call(rng: random.Random) -> None:
        giver, receiver = rng.sample(range(1, members + 1), 2)
        body = (
            f'{{"giver_id":"{FIRST_USER_ID + giver}","receiver_id":'
            f'"{FIRST_USER_ID + receiver}","amount":{rng.randint(1, MAX_AMOUNT)}}}'
        ).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": TRANSFER_PATH,
            "raw_path": TRANSFER_PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "server": (HOST, 80),
            "client": (HOST, 1),
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError  # pragma: no cover

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        if statuses != [200]:
            msg = f"transfer answered {statuses}"
            raise RuntimeError(msg)

    return call


async def layer_breakdown(
    database: str, token: str, members: int, *, operations: int, rounds: int
) -> list[tuple[str, float]]:
    """Python CPU per transfer at each layer, one transfer at a time (min over rounds).

    Sequential on purpose: without concurrency the numbers hardly depend on other load,
    so the differences between layers are what each layer costs.
    """
    span = await member_account_range(database)
    if span is None:
        return []

    def legs(rng: random.Random) -> tuple[int, list[Leg]]:
        giver, receiver = rng.sample(range(span[0], span[1] + 1), 2)
        amount = rng.randint(1, MAX_AMOUNT)
        pair = transfer_legs(source=giver, target=receiver, amount=amount)
        ordered = sorted(pair, key=lambda leg: leg.account_id)
        return amount, ordered

    url = pg_url(database)
    app = create_app(bench_settings(url))
    async with (
        bench_services(url) as services,
        app.router.lifespan_context(app),
        services.engine.connect() as connection,
    ):
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None

        async def driver(rng: random.Random) -> None:
            amount, ordered = legs(rng)
            async with raw.transaction():
                await raw.fetch(
                    LAYER_SQL,
                    GUILD_ID,
                    "transfer",
                    amount,
                    None,
                    "bench",
                    None,
                    datetime.now(UTC),
                    [leg.account_id for leg in ordered],
                    [leg.amount for leg in ordered],
                    [leg.received for leg in ordered],
                    [leg.sent for leg in ordered],
                )

        async def session(rng: random.Random) -> None:
            _, ordered = legs(rng)
            async with services.sessionmaker() as orm:
                await posting.post_in_session(
                    orm,
                    guild_id=GUILD_ID,
                    type=TransactionType.TRANSFER,
                    legs=ordered,
                    now=datetime.now(UTC),
                    actor_id="bench",
                )
                await orm.commit()

        names = member_ids(members)

        async def service(rng: random.Random) -> None:
            giver, receiver = rng.sample(names, 2)
            async with unit_of_work(services) as uow:
                await economy.transfer(
                    uow,
                    guild_id=GUILD_ID,
                    giver_id=giver,
                    receiver_id=receiver,
                    amount=rng.randint(1, MAX_AMOUNT),
                )
                await uow.commit()

        layers: list[tuple[str, Layer]] = [
            ("asyncpg: BEGIN, guildbank_post, COMMIT", driver),
            ("+ SQLAlchemy AsyncSession (post_in_session)", session),
            ("+ service layer (uow, economy.transfer)", service),
            ("+ FastAPI app in-process (no server)", asgi_transfer(app, token, members)),
        ]
        best = dict.fromkeys((name for name, _ in layers), float("inf"))
        for round_ in range(rounds):
            for name, layer in layers:
                rng = random.Random(round_)
                for _ in range(operations // 10):  # warm caches and the pool
                    await layer(rng)
                started = time.process_time()
                for _ in range(operations):
                    await layer(rng)
                best[name] = min(best[name], (time.process_time() - started) / operations)
    return [(name, cpu * 1e6) for name, cpu in best.items()]


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
        f"PostgreSQL {pg['server_version']} on {HOST}:{PG_PORT}: {settings}",
    ]


def print_table(reference: float, runs: list[RunResult]) -> None:
    header = (
        f"{'run':<34} {'per s':>7} {'x TPC-B':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6}"
        f" | {'CPU us/op: client':>17} {'python':>7} {'pg':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.name:<34} {run.per_second:>7.0f} {run.per_second / reference:>7.2f} "
            f"{run.p50_ms:>7.2f} {run.p99_ms:>7.2f} {run.failures:>6}"
            f" | {run.cpu_us(run.client_cpu):>17.0f} {run.cpu_us(run.app_cpu):>7.0f}"
            f" {run.cpu_us(run.db_cpu):>6.0f}"
        )
    print()
    for run in runs:
        for note in run.notes:
            print(f"  {run.name}: {note}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=15, help="duration of each measured run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--members", type=int, default=1000, help="members of the bench guild")
    parser.add_argument("--scale", type=int, default=16, help="pgbench scale factor")
    parser.add_argument(
        "--workers",
        default="1,2,2r",
        help="servers to try: N = uvicorn --workers N; Nr = N uvicorn processes on SO_REUSEPORT",
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="HTTP load generator (auto: wrk when installed)",
    )
    parser.add_argument("--skip-api", action="store_true", help="service layer only")
    parser.add_argument(
        "--breakdown",
        type=int,
        default=1000,
        metavar="N",
        help="transfers per layer in the sequential CPU breakdown (0 skips it)",
    )
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)
    if args.members < 2 or args.clients < 1 or args.seconds < 1:
        parser.error("need at least 2 members, 1 client and 1 second")
    if not all(re.fullmatch(r"[1-9][0-9]*r?", w) for w in args.workers.split(",")):
        parser.error("--workers is a comma-separated list like 1,2,2r")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    return args


async def guildbank_phase(database: str, args: argparse.Namespace) -> tuple[str, RunResult]:
    """Fund the guild, then measure the service layer; returns the API key and the result."""
    members = member_ids(args.members)
    async with bench_services(pg_url(database)) as services:
        token = await prepare_guild(services, members, args.clients)
        result = await service_layer_run(
            services,
            database,
            members,
            clients=args.clients,
            seconds=args.seconds,
            seed=args.seed,
        )
    return token, result


async def check_ledger(database: str) -> integrity.IntegrityReport:
    async with (
        bench_services(pg_url(database)) as services,
        unit_of_work(services, read_only=True) as uow,
    ):
        return await integrity.check_integrity(uow, guild_id=GUILD_ID)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report_results(
    facts: dict[str, str],
    load_before: float,
    tpcb: list[RunResult],
    runs: list[RunResult],
    layers: list[tuple[str, float]],
    report: integrity.IntegrityReport,
) -> None:
    reference = sum(r.per_second for r in tpcb) / len(tpcb)
    print()
    for line in machine_facts(facts):
        print(line)
    print(
        f"load average before the bench: {load_before:.2f}"
        + (" (other work was running: expect noise)" if load_before > 0.5 else "")
    )
    print(f"reference: mean TPC-B tps of the first and last run = {reference:.0f}")
    drift = abs(tpcb[0].per_second - tpcb[1].per_second) / reference
    if drift > 0.2:
        print(f"warning: the two TPC-B runs differ by {drift:.0%}; rerun on a quiet machine")
    print()
    print_table(reference, [tpcb[0], *runs, tpcb[1]])
    print()
    if layers:
        print("Python CPU per transfer, one transfer at a time (min of 3 rounds):")
        previous = 0.0
        for name, micros in layers:
            print(f"  {name:<44} {micros:>6.0f} us  ({micros - previous:+.0f})")
            previous = micros
        print()
    best_api = max((r.per_second for r in runs if r.name.startswith("HTTP")), default=0.0)
    if best_api:
        print(
            f"target: HTTP API >= 0.50 x TPC-B; best {best_api / reference:.2f} x "
            f"({best_api:.0f} transfers/s vs {reference:.0f} tps)"
        )
    print(
        f"ledger integrity: {'ok' if report.ok else 'PROBLEMS'} "
        f"({report.accounts} accounts, {report.transactions} transactions, "
        f"guild total {report.total})"
    )
    for problem in report.problems[:10]:
        print(f"  {problem['code']}: {problem['detail']}")


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
        say(f"service layer: {args.members} members, {args.clients} tasks, {args.seconds} s")
        upgrade(pg_url(guildbank_db))
        token, service = uvloop.run(guildbank_phase(guildbank_db, args))
        runs = [service]
        layers: list[tuple[str, float]] = []
        if args.breakdown > 0:
            say(f"where the time goes: {args.breakdown} sequential transfers per layer")
            layers = uvloop.run(
                layer_breakdown(
                    guildbank_db, token, args.members, operations=args.breakdown, rounds=3
                )
            )
        for workers in [] if args.skip_api else args.workers.split(","):
            say(
                f"HTTP API: servers {workers!r}, {args.clients} {args.load} clients, "
                f"{args.seconds} s"
            )
            runs.append(
                api_run(
                    guildbank_db,
                    token,
                    args.members,
                    workers=workers,
                    clients=args.clients,
                    seconds=args.seconds,
                    load=args.load,
                    seed=args.seed + len(runs),
                )
            )
        say(f"guildbank_post driven by pgbench, {args.seconds} s")
        database_only = pgbench_transfers(guildbank_db, clients=args.clients, seconds=args.seconds)
        if database_only is not None:
            runs.append(database_only)
        say(f"TPC-B again, {args.seconds} s")
        tpcb.append(
            pgbench_run(
                reference_db,
                name="pgbench TPC-B (last)",
                clients=args.clients,
                seconds=args.seconds,
            )
        )
        report = uvloop.run(check_ledger(guildbank_db))
    finally:
        uvloop.run(drop_databases([reference_db, guildbank_db]))

    report_results(facts, load_before, tpcb, runs, layers, report)
    print(f"bench took {time.monotonic() - started:.0f} s")
    failed = sum(r.failures for r in [*tpcb, *runs])
    return 0 if report.ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
