"""Embedded SQLite under many writers: every write succeeds, each in its turn.

Writers queue in the process (``platform/sqlite.py``) rather than poll SQLite's lock: the
turn is held from ``BEGIN IMMEDIATE`` to the end of the transaction, however it ends;
readers never queue; a writer waits at most the busy timeout and then fails as SQLite
would. Latency under load is measured by ``bench/sqlite_load.py``, not asserted here.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from guildbank.platform.engine import READ_ONLY
from guildbank.platform.sqlite import WriterQueue, configure_sqlite
from guildbank.platform.uow import Services
from tests.concurrency.conftest import assert_integrity, ledger_state
from tests.factories import fund, member

WRITERS = 32
REQUESTS = 8  # per writer
MEMBERS = 16
INSERT = "INSERT INTO t (n) VALUES (1)"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_32_concurrent_writers_all_succeed(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    for n in range(1, MEMBERS + 1):
        await fund(services, guild, member(n), 10**6)
    newcomers = iter(range(1000, 1000 + WRITERS * REQUESTS))
    outcomes: Counter[tuple[str, int]] = Counter()
    gate = asyncio.Event()

    async def writer(rng: random.Random) -> None:
        await gate.wait()
        for _ in range(REQUESTS):
            if rng.random() < 0.25:
                kind = "daily"
                response = await api.post(
                    f"/api/guilds/{guild}/bytes/daily/{member(next(newcomers))}"
                )
            else:
                kind = "transfer"
                giver, receiver = rng.sample(range(1, MEMBERS + 1), 2)
                response = await api.post(
                    f"/api/guilds/{guild}/bytes/transactions",
                    json={"giver_id": member(giver), "receiver_id": member(receiver), "amount": 3},
                )
            outcomes[kind, response.status_code] += 1

    tasks = [asyncio.create_task(writer(random.Random(i))) for i in range(WRITERS)]
    gate.set()
    await asyncio.gather(*tasks)

    assert {status for _, status in outcomes} == {200}, outcomes  # no 500/503 "locked"
    state = await ledger_state(services, guild)
    assert state.tx_counts["transfer"] == outcomes["transfer", 200]
    assert state.tx_counts["daily"] == outcomes["daily", 200]
    await assert_integrity(api, guild)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, WriterQueue]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    queue = configure_sqlite(engine)
    assert queue is not None
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    try:
        yield engine, queue
    finally:
        await engine.dispose()


async def _write(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.exec_driver_sql(INSERT)


async def _write_then_fail(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.exec_driver_sql(INSERT)
        raise RuntimeError("refused")  # rolled back


async def _count(engine: AsyncEngine) -> int:
    async with engine.execution_options(**READ_ONLY).connect() as connection:
        return int((await connection.exec_driver_sql("SELECT count(*) FROM t")).scalar_one())


async def test_a_writer_waits_for_the_turn_while_readers_go_on(
    engine: tuple[AsyncEngine, WriterQueue],
) -> None:
    sqlite, queue = engine
    async with sqlite.connect() as holder:
        await holder.exec_driver_sql(INSERT)  # holds the turn until it commits
        assert queue.writing == 1
        waiting = asyncio.create_task(_write(sqlite))
        assert await asyncio.wait_for(_count(sqlite), 10) == 0  # a reader is not queued
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await holder.commit()
    await asyncio.wait_for(waiting, 10)
    assert await _count(sqlite) == 2
    assert queue.writing == 0


async def test_the_turn_ends_however_the_transaction_ends(
    engine: tuple[AsyncEngine, WriterQueue],
) -> None:
    sqlite, queue = engine
    with pytest.raises(RuntimeError, match="refused"):
        await _write_then_fail(sqlite)
    assert queue.writing == 0
    async with sqlite.connect() as connection:  # returned to the pool without commit
        await connection.exec_driver_sql(INSERT)
    assert queue.writing == 0
    async with sqlite.connect() as connection:  # two transactions on one connection
        await connection.exec_driver_sql(INSERT)
        await connection.commit()
        await connection.exec_driver_sql(INSERT)
        await connection.commit()
    await asyncio.wait_for(_write(sqlite), 10)
    assert await _count(sqlite) == 3
    assert queue.writing == 0


async def test_a_writer_waits_at_most_the_busy_timeout_then_fails_as_sqlite_would(
    engine: tuple[AsyncEngine, WriterQueue],
) -> None:
    sqlite, queue = engine
    queue.timeout = 0.2
    async with sqlite.connect() as holder:
        await holder.exec_driver_sql(INSERT)
        with pytest.raises(exc.OperationalError, match="database is locked"):
            await _write(sqlite)
        await holder.commit()
    await _write(sqlite)
    assert await _count(sqlite) == 2
    assert queue.writing == 0
