"""``guildbank web --workers N``: N uvicorn worker processes serve the API, each within its own
PostgreSQL connection budget, and SIGTERM stops them all (exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from guildbank.cli import app as cli
from guildbank.platform.uow import Services
from tests.conftest import PG_ADMIN_DSN, REDIS_URL, make_api_key
from tests.factories import fund, member
from tests.fakes.ports import free_port

WAIT = 60.0  # generous: workers import the whole app on a shared machine
WORKERS = 2
BUDGET = 4


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes: the parent's children started by multiprocessing spawn."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    pids = []
    for child in children:
        with contextlib.suppress(FileNotFoundError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.append(int(child))
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def connections_named(application_name: str) -> int:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await connection.close()
    return count


@contextlib.asynccontextmanager
async def web_workers(
    database_url: str, tmp_path: Path, application_name: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from guildbank.cli import app; app()",
        "web",
        "--workers",
        str(WORKERS),
        cwd=tmp_path,
        env={
            **os.environ,
            "GUILDBANK_DATABASE_URL": f"{database_url}?application_name={application_name}",
            "GUILDBANK_DATABASE_CONNECTIONS": str(BUDGET),
            "GUILDBANK_REDIS_URL": REDIS_URL,
            "GUILDBANK_PORT": str(port),
            "GUILDBANK_LOG_LEVEL": "WARNING",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_workers_serve_requests_each_within_its_budget_and_stop_on_sigterm(
    services: Services, guild: str, database_url: str, tmp_path: Path
) -> None:
    for n in range(1, 11):
        await fund(services, guild, member(n), 1000)
    key = await make_api_key(services)
    name = f"gb-workers-{uuid.uuid4().hex[:8]}"
    async with web_workers(database_url, tmp_path, name) as (process, base):
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=WAIT
        ) as http:
            async with asyncio.timeout(WAIT):
                while len(worker_pids(process.pid)) < WORKERS:
                    assert process.returncode is None
                    await asyncio.sleep(0.1)
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            workers = worker_pids(process.pid)

            async def transfer(n: int) -> int:
                giver, receiver = member(n % 10 + 1), member((n + 1) % 10 + 1)
                response = await http.post(
                    f"/api/guilds/{guild}/bytes/transactions",
                    json={"giver_id": giver, "receiver_id": receiver, "amount": 1},
                )
                return response.status_code

            statuses = Counter(await asyncio.gather(*(transfer(n) for n in range(60))))
            open_connections = await connections_named(name)

        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            output, _ = await process.communicate()

    assert statuses == Counter({200: 60})
    assert len(workers) == WORKERS
    # Each worker has its own budget: together never more than N x budget.
    assert 0 < open_connections <= WORKERS * BUDGET, open_connections
    assert process.returncode == 0, output.decode()
    assert "Traceback" not in output.decode()
    assert not [pid for pid in workers if alive(pid)]  # the parent stopped and reaped them
    assert await connections_named(name) == 0  # every worker closed its pools


def test_more_than_one_worker_needs_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["web", "--workers", "2"],
        env={
            "GUILDBANK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            "GUILDBANK_REDIS_URL": "",
        },
    )
    assert result.exit_code == 2, result.output
    assert "needs GUILDBANK_REDIS_URL" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before migrating or serving
