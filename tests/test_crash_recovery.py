"""A `guildbank web` process killed or stopped under load, on PostgreSQL and SQLite.

SIGKILL three times mid-load of keyed transfers (each with its own Idempotency-Key): every
write the API acknowledged is in the ledger exactly once, nothing is in it twice, the ledger
still balances, and replaying an acknowledged key answers the stored response and moves
nothing. SIGTERM lets a request in flight finish before the process exits (0).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import make_api_key
from tests.factories import bytes_url, fund, guild_money, member
from tests.fakes.ports import free_port

pytestmark = pytest.mark.timeout(90)

KILLS = 3
CLIENTS = 6
ACKS_PER_ROUND = 15
UP_WAIT = 30.0  # seconds for a process to start: other test runs share this machine


class WebProcess:
    """`guildbank web` in its own OS process, restartable on the same port and database."""

    def __init__(self, database_url: str, port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._env = {
            **os.environ,
            "GUILDBANK_DATABASE_URL": database_url,
            "GUILDBANK_PORT": str(port),
            "GUILDBANK_LOG_LEVEL": "WARNING",
        }
        self._env.pop("GUILDBANK_REDIS_URL", None)
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> subprocess.Popen[bytes]:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from guildbank.cli import app; app()", "web"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    async def start(self) -> None:
        """Launch, and return once it answers."""
        process = await asyncio.to_thread(self.launch)
        async with httpx.AsyncClient(base_url=self.base_url) as http, asyncio.timeout(UP_WAIT):
            while True:
                assert process.poll() is None, self.log_tail()
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        """The exit status; fails with the process's log if it does not exit in time."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout} s later; its log:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebProcess]:
    process = WebProcess(database_url, free_port(), tmp_path / "web.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def key(services: Services, guild: str) -> str:
    for n in range(CLIENTS):
        await fund(services, guild, member(n), 1_000_000)
    return await make_api_key(services)


def _transfer(n: int, idempotency_key: str, i: int) -> dict[str, Any]:
    return {
        "giver_id": member(n),
        "receiver_id": member((n + 1) % CLIENTS),
        "amount": 1 + i % 5,
        "reason": idempotency_key,  # finds the key's transaction in the ledger
    }


async def _load_until_killed(
    web: WebProcess, key: str, guild: str, round_: int, acknowledged: dict[str, Any]
) -> set[str]:
    """Keyed transfers from several clients until the process dies; returns the keys sent."""
    sent: set[str] = set()
    acked_before = len(acknowledged)
    enough = asyncio.Event()

    async def client(n: int) -> None:
        async with httpx.AsyncClient(
            base_url=web.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as http:
            for i in range(10_000):
                idempotency_key = f"crash-{round_}-{n}-{i}"
                body = _transfer(n, idempotency_key, i)
                sent.add(idempotency_key)
                try:
                    response = await http.post(
                        bytes_url(guild, "/transactions"),
                        json=body,
                        headers={"Idempotency-Key": idempotency_key},
                    )
                except httpx.TransportError:
                    return  # killed: this write may or may not have committed
                assert response.status_code == 200, response.text
                acknowledged[idempotency_key] = (body, response.json())
                if len(acknowledged) - acked_before >= ACKS_PER_ROUND:
                    enough.set()

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    async with asyncio.timeout(20):
        await enough.wait()
    web.signal(signal.SIGKILL)  # mid-load: some requests are in flight
    await asyncio.to_thread(web.wait)
    await asyncio.gather(*clients)
    return sent


async def _copies(services: Services, guild: str, keys: set[str]) -> dict[str, int]:
    """How many ledger transactions each key's transfer made."""
    async with unit_of_work(services, read_only=True) as uow:
        rows = await uow.session.execute(
            select(LedgerTransaction.reason, func.count())
            .where(LedgerTransaction.guild_id == guild, LedgerTransaction.reason.in_(keys))
            .group_by(LedgerTransaction.reason)
        )
        return {str(reason): int(count) for reason, count in rows.all()}


async def test_sigkill_under_keyed_load_keeps_each_acknowledged_write_exactly_once(
    services: Services, guild: str, key: str, web: WebProcess
) -> None:
    acknowledged: dict[str, Any] = {}
    sent: set[str] = set()
    for round_ in range(KILLS):
        await web.start()
        sent |= await _load_until_killed(web, key, guild, round_, acknowledged)
    await web.start()  # the restart after the last kill serves the checks below

    assert len(sent) > len(acknowledged)  # writes were in flight when the process died
    copies = await _copies(services, guild, sent)
    assert all(copies.get(k) == 1 for k in acknowledged), "an acknowledged write is missing"
    assert max(copies.values()) == 1, "a write is in the ledger twice"
    before = await guild_money(services, guild)
    async with httpx.AsyncClient(
        base_url=web.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as http:
        for idempotency_key, (body, first) in acknowledged.items():
            replay = await http.post(
                bytes_url(guild, "/transactions"),
                json=body,
                headers={"Idempotency-Key": idempotency_key},
            )
            assert replay.status_code == 200, replay.text
            assert replay.headers["Idempotent-Replayed"] == "true"
            assert replay.json() == first
        integrity = await http.get(bytes_url(guild, "/integrity"))
        assert integrity.json()["ok"] is True, integrity.json()
    assert await guild_money(services, guild) == before  # the replays moved nothing
    web.signal(signal.SIGTERM)
    assert await asyncio.to_thread(web.wait) == 0


@asynccontextmanager
async def _giver_locked(database_url: str, backend: str, giver: str) -> AsyncIterator[None]:
    """Hold what a transfer from ``giver`` must wait for, as a slow database would: the
    giver's account row (PostgreSQL) or the write lock (SQLite), until the block ends."""
    if backend == "postgres":
        url = make_url(database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            async with connection.transaction():
                await connection.execute(
                    "SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE", giver
                )
                yield
        finally:
            await connection.close()
        return
    path = make_url(database_url).database
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")
        yield
        await asyncio.to_thread(locker.rollback)
    finally:
        locker.close()


async def test_sigterm_lets_the_request_in_flight_finish(
    services: Services, guild: str, key: str, web: WebProcess, database_url: str, backend: str
) -> None:
    await web.start()
    body = _transfer(0, "in-flight", 0)
    async with httpx.AsyncClient(
        base_url=web.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        async with _giver_locked(database_url, backend, member(0)):
            in_flight = asyncio.create_task(
                http.post(
                    bytes_url(guild, "/transactions"),
                    json=body,
                    headers={"Idempotency-Key": "in-flight"},
                )
            )
            await asyncio.sleep(1.0)  # the request reached the server and waits on the lock
            assert not in_flight.done()
            web.signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            assert web.process is not None
            assert web.process.poll() is None, "exited with a request in flight"
        response = await in_flight  # the lock is gone: the request completes
    assert response.status_code == 200, response.text
    assert await asyncio.to_thread(web.wait) == 0
    assert (await _copies(services, guild, {"in-flight"})) == {"in-flight": 1}
