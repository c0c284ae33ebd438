"""What the ledger benchmarks measure with: percentiles, memory, the real app under uvicorn.

Used by bench/leaderboard.py, bench/integrity.py and bench/daily.py (with bench/ledger_data.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI

from bench.stats import percentile
from guildbank.platform import apikeys
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.settings import Settings

__all__ = [
    "admin_key",
    "peak_rss_mb",
    "percentile",
    "process_rss_mb",
    "reset_peak_rss",
    "rss_mb",
    "running_server",
    "server_app",
]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- measuring


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak_rss() -> None:
    """Start ``peak_rss_mb`` over from the current RSS (Linux: /proc/self/clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def process_rss_mb(pid: int) -> float:
    """Another process's resident memory (0 once it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- the real server


def server_app() -> FastAPI:
    """The uvicorn factory: the real app, configured from GUILDBANK_* variables."""
    return create_app(Settings())


async def admin_key(services: Services) -> str:
    async with unit_of_work(services) as uow:
        _, token = await apikeys.create_api_key(uow, name="bench", scopes=apikeys.ALL_SCOPES)
        await uow.commit()
    return token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def running_server(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """The real app under one uvicorn process (uvloop, httptools) on a free port: yields a
    client of it and the server's pid."""
    port = _free_port()
    env = {
        **os.environ,
        "GUILDBANK_DATABASE_URL": url,
        "GUILDBANK_REDIS_URL": "",
        "GUILDBANK_LOG_LEVEL": "WARNING",
        "GUILDBANK_ENV": "development",
    }
    command = [sys.executable, "-m", "uvicorn", "bench.probes:server_app", "--factory"]
    command += ["--app-dir", str(ROOT), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning", "--host", HOST, "--port", str(port)]
    with tempfile.TemporaryDirectory(prefix="gb-bench-") as cwd:  # no stray .env is read
        server = await asyncio.create_subprocess_exec(*command, env=env, cwd=cwd)
        try:
            async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=120) as client:
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/health")).status_code == 200:
                            break
                    if server.returncode is not None or time.monotonic() > deadline:
                        msg = f"the server did not start (exit code {server.returncode})"
                        raise RuntimeError(msg)
                    await asyncio.sleep(0.1)
                yield client, server.pid
        finally:
            if server.returncode is None:
                server.terminate()
                try:
                    await asyncio.wait_for(server.wait(), 15)
                except TimeoutError:
                    server.kill()
                    await server.wait()
