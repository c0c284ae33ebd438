"""The real server under load: uvicorn serving the app, driven by wrk or a Python client.

``running_server`` starts ``create_app`` through a uvicorn factory (uvloop, httptools, no
access log) as ``uvicorn --workers N`` or as N single-worker processes on their own
SO_REUSEPORT sockets. ``wrk_run`` (C, one thread, keep-alive connections, a Lua script
building random transfer bodies and, for keyed runs, a unique ``Idempotency-Key`` per request)
and ``python_run`` (raw asyncio HTTP/1.1 in a separate process, for machines without wrk)
drive it; ``api_run`` measures one run with the CPU used by the server and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import uvicorn
import uvloop
from fastapi import FastAPI

from bench.ledger_data import FIRST_USER, user_id
from bench.measure import HOST, CpuMeter, RunResult, children_cpu, pg_url, summarise
from guildbank.runtime.app import create_app
from guildbank.settings import Settings
from tests.fakes.ports import free_port

__all__ = [
    "MAX_AMOUNT",
    "USER_PREFIX",
    "Target",
    "api_run",
    "running_server",
    "server_app",
    "transfer_body",
]

ROOT = Path(__file__).resolve().parent.parent  # where ``bench.http_load`` imports from
SERVER_START_TIMEOUT = 30.0
MAX_AMOUNT = 100  # transfers move 1 to MAX_AMOUNT bytes
# Member n's user id is USER_PREFIX followed by n on 9 digits (bench.ledger_data.user_id).
USER_PREFIX = str(FIRST_USER // 10**9)
assert user_id(7) == f"{USER_PREFIX}{7:09d}"


@dataclass(frozen=True, slots=True)
class Target:
    """What a load generator sends: transfers between random pairs of ``members`` (numbered
    from 1) posted to ``path``, each with its own Idempotency-Key when ``keyed``."""

    path: str
    members: int
    keyed: bool

    def pick(self, rng: random.Random) -> tuple[int, int, int]:
        """A random transfer: giver and receiver (member numbers), amount."""
        giver = rng.randint(1, self.members)
        receiver = rng.randint(1, self.members - 1)
        receiver += receiver >= giver
        return giver, receiver, rng.randint(1, MAX_AMOUNT)

    def body(self, rng: random.Random) -> bytes:
        return transfer_body(*self.pick(rng))


def transfer_body(giver: int, receiver: int, amount: int) -> bytes:
    """The JSON body of a transfer between members ``giver`` and ``receiver``."""
    return (
        f'{{"giver_id":"{user_id(giver)}","receiver_id":"{user_id(receiver)}","amount":{amount}}}'
    ).encode()


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
    command = [sys.executable, "-m", "uvicorn", "bench.http_load:server_app", "--factory"]
    command += ["--app-dir", str(ROOT), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]
    servers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="gb-server-") as cwd:  # no stray .env is read
        try:
            if reuse_port:
                launch = f"from bench.http_load import serve_reuse_port; serve_reuse_port({port})"
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


# Random pairs among the target's members; with ``keyed`` a unique Idempotency-Key per request
# (the run's seed and a counter). User ids are built as text: Lua numbers are doubles.
WRK_SCRIPT = """
local members, max_amount, counter = {members}, {max_amount}, 0
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
  local body = string.format(
    '{{"giver_id":"{prefix}%09d","receiver_id":"{prefix}%09d","amount":%d}}',
    giver, receiver, math.random(max_amount))
  local headers = nil
  if {keyed} then
    counter = counter + 1
    headers = {{}}  -- wrk.format takes these instead of wrk.headers: copy them
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Idempotency-Key"] = string.format("bench-{seed}-%d", counter)
  end
  return wrk.format(nil, "{path}", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("GB_RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_run(
    port: int, token: str, target: Target, *, clients: int, seconds: int, seed: int
) -> RunResult:
    """Drive the server with ``wrk`` (C, one thread, keep-alive connections)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="gb-wrk-") as script:
        script.write(
            WRK_SCRIPT.format(
                prefix=USER_PREFIX,
                members=target.members,
                max_amount=MAX_AMOUNT,
                token=token,
                seed=seed,
                path=target.path,
                keyed="true" if target.keyed else "false",
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
    port: int, token: str, target: Target, clients: int, seconds: int, seed: int
) -> tuple[list[float], dict[int, int], float]:
    """The raw-asyncio HTTP/1.1 load generator (runs in its own process)."""
    return uvloop.run(_python_load_async(port, token, target, clients, seconds, seed))


async def _python_load_async(
    port: int, token: str, target: Target, clients: int, seconds: int, seed: int
) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
    ).encode()
    sent = 0

    async def client(rng: random.Random, deadline: float) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while (started := time.perf_counter()) < deadline:
                body = target.body(rng)
                sent += 1
                key = b"Idempotency-Key: bench-%d-%d\r\n" % (seed, sent) if target.keyed else b""
                writer.write(b"%s%sContent-Length: %d\r\n\r\n%s" % (head, key, len(body), body))
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
    port: int, token: str, target: Target, *, clients: int, seconds: int, seed: int
) -> RunResult:
    """Drive the server from a separate Python process with raw keep-alive HTTP/1.1."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        latencies, statuses, elapsed = pool.submit(
            _python_load, port, token, target, clients, seconds, seed
        ).result(timeout=seconds + 60)
    ok = statuses.get(200, 0)
    result = summarise("", latencies, elapsed, failures=sum(statuses.values()) - ok)
    result.operations = ok
    return result


def api_run(
    database: str,
    token: str,
    target: Target,
    *,
    name: str,
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
        drive(port, token, target, clients=clients, seconds=warm, seed=-seed)
        client_before = children_cpu()
        with CpuMeter(database, roots=pids) as meter:
            result = drive(port, token, target, clients=clients, seconds=seconds, seed=seed)
        result.client_cpu = children_cpu() - client_before
        result.app_cpu = meter.tree_cpu
        result.db_cpu = meter.database_cpu
    plural = "es" if count > 1 else ""
    server = (
        f"{count} process{plural} (reuseport)"
        if reuse_port
        else f"{count} worker{'s' if count > 1 else ''}"
    )
    result.name = f"{name}, {server}" if workers != "1" else name
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
