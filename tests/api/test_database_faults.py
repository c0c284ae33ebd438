"""Database faults answer 503 ``database_unavailable`` with ``Retry-After``, never 500, and the
app recovers by itself: killed PostgreSQL backends (``pg_terminate_backend``, both the ORM
pool and the transfer's driver pool) and a SQLite database locked past the busy timeout."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import make_url

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import GUILD_ID, FakeClock, make_api_key, settings_for
from tests.factories import bytes_url, error_of, fund, member
from tests.fakes.ports import free_port

CLIENTS = 8
KILLS = 4


@pytest.fixture
async def raw_api(app: FastAPI, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, answering a 500 as a response (not raising it into the test)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as client:
        yield client


async def _terminate_backends(database_url: str, *, wait: bool = False) -> int:
    """Kill every other connection to the test database, as an operator or a failover would;
    with ``wait``, return once those backends are gone."""
    url = make_url(database_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        rows = await connection.fetch(
            "SELECT pid, pg_terminate_backend(pid) AS killed FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
        killed: list[int] = [row["pid"] for row in rows if row["killed"]]
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])"
        while wait and await connection.fetchval(alive, killed):  # noqa: ASYNC110 - the server's
            await asyncio.sleep(0.01)
    finally:
        await connection.close()
    return len(killed)


def _assert_unavailable(response: httpx.Response) -> None:
    error_of(response, 503, "database_unavailable")
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_killed_backends_answer_503_then_recover_without_restart(
    services: Services, guild: str, raw_api: httpx.AsyncClient, database_url: str
) -> None:
    for n in range(CLIENTS):
        await fund(services, guild, member(n), 1_000_000)
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()

    async def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 2:
                response = await raw_api.post(
                    bytes_url(guild, "/transactions"),
                    json={"giver_id": member(n), "receiver_id": member(n + 1), "amount": 1},
                    headers={"Idempotency-Key": f"fault-{n}-{i}"},
                )
            else:
                response = await raw_api.get(bytes_url(guild, f"/balance/{member(n)}"))
            statuses[response.status_code] += 1
            if response.status_code != 200:
                _assert_unavailable(response)

    async def killer() -> int:
        killed = 0
        for _ in range(KILLS):
            await asyncio.sleep(0.25)
            killed += await _terminate_backends(database_url)
        stop.set()
        return killed

    async with asyncio.timeout(30):
        clients = asyncio.gather(*(client(n) for n in range(CLIENTS)))
        killed = await killer()
        await clients
    assert killed > 0
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    assert statuses[503] > 0  # the faults were met, and answered as such

    # No restart: the very next requests, writes on both pools and reads, succeed.
    await _terminate_backends(database_url, wait=True)  # idle pooled connections die too
    await asyncio.sleep(0.05)  # the app's event loop reads the closed sockets
    for n in range(CLIENTS):
        transfer = await raw_api.post(
            bytes_url(guild, "/transactions"),
            json={"giver_id": member(n), "receiver_id": member(n + 1), "amount": 1},
        )
        assert transfer.status_code == 200, transfer.text
        balance = await raw_api.get(bytes_url(guild, f"/balance/{member(n)}"))
        assert balance.status_code == 200, balance.text
        daily = await raw_api.post(bytes_url(guild, f"/daily/{member(n)}"))
        assert daily.status_code == 200, daily.text


async def test_sqlite_locked_past_the_busy_timeout_answers_503_then_recovers(
    tmp_path: Path, sqlite_template: Path, clock: FakeClock
) -> None:
    path = tmp_path / "locked.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=200")  # not 30 s: this test waits it out
        cursor.close()

    services = Services(engine=engine, bus=InProcessBus(), clock=clock)
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD_ID, name="Locked guild")
            await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
            await uow.commit()
        await fund(services, GUILD_ID, member(1), 100)
        key = await make_api_key(services)
        app = create_app(settings_for(url), services)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {key}"},
        ) as api:
            transfer = {"giver_id": member(1), "receiver_id": member(2), "amount": 5}
            await services.relay.drain()  # no writer of ours holds the lock
            # Another process's writer; in a thread, since waiting for the lock blocks.
            locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")
                _assert_unavailable(
                    await api.post(bytes_url(GUILD_ID, "/transactions"), json=transfer)
                )
                _assert_unavailable(await api.post(bytes_url(GUILD_ID, f"/daily/{member(1)}")))
                # Readers are not blocked by a writer (WAL).
                read = await api.get(bytes_url(GUILD_ID, f"/balance/{member(1)}"))
                assert read.json()["balance"] == 100
            finally:
                await asyncio.to_thread(locker.rollback)
                locker.close()
            sent = await api.post(bytes_url(GUILD_ID, "/transactions"), json=transfer)
            assert sent.status_code == 200, sent.text
            read = await api.get(bytes_url(GUILD_ID, f"/balance/{member(1)}"))
            assert read.json()["balance"] == 95
        await services.relay.drain()
    finally:
        await services.close()


async def test_an_unreachable_database_answers_503_on_both_pools(clock: FakeClock) -> None:
    """Nothing listens: the connect itself fails (the ORM pool for reads and key lookups,
    the driver pool for the transfer)."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/guildbank"
    services = Services(engine=create_engine(url), bus=InProcessBus(), clock=clock)
    app = create_app(settings_for(url), services, internal_key="in-memory-key")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
            headers={"Authorization": "Bearer in-memory-key"},
        ) as api:
            _assert_unavailable(
                await api.post(
                    bytes_url(GUILD_ID, "/transactions"),
                    json={"giver_id": member(1), "receiver_id": member(2), "amount": 1},
                )
            )
            _assert_unavailable(await api.get(bytes_url(GUILD_ID, f"/balance/{member(1)}")))
            stored_key = {"Authorization": "Bearer gb_unknown_key"}  # looked up in the database
            _assert_unavailable(
                await api.get(bytes_url(GUILD_ID, "/leaderboard"), headers=stored_key)
            )
    finally:
        await services.close()
