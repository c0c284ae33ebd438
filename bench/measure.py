"""What every transfer benchmark run measures, and the reference it is compared with.

``RunResult`` holds one run (operations, time, latency percentiles, CPU seconds by whom);
``CpuMeter`` samples /proc for the CPU used by the PostgreSQL processes of one database and by
a process tree (the servers); ``pgbench_run`` runs pgbench (the built-in TPC-B, the reference
every ratio is taken against, or a custom script) and reads its latencies from its log. The
databases are created and dropped on the local server (127.0.0.1:5432, user ``postgres``).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.stats import percentile

__all__ = [
    "HOST",
    "CpuMeter",
    "RunResult",
    "admin_execute",
    "children_cpu",
    "drop_databases",
    "percentile",
    "pg_dsn",
    "pg_url",
    "pgbench_init",
    "pgbench_run",
    "prepare_databases",
    "summarise",
]

HOST = "127.0.0.1"  # the benchmark never targets anything else
PG_PORT = 5432
PG_USER = "postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


def pg_dsn(database: str) -> str:
    """The database's DSN for asyncpg."""
    return f"postgresql://{PG_USER}@{HOST}:{PG_PORT}/{database}"


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
