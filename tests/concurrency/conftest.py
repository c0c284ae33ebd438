"""Fixtures and helpers for the concurrency proofs.

Every test here runs on both backends (the ``backend`` parameter of the root conftest) at the
backend's own level: PostgreSQL with 32+ real parallel connections, SQLite with a handful of
clients queueing on its single writer lock. Nothing sleeps; clients start together behind a
gate and each request or unit of work checks out its own pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work

T = TypeVar("T")
J = TypeVar("J")


@dataclass(frozen=True, slots=True)
class Level:
    """How hard one backend is pushed."""

    clients: int  # concurrent clients (tasks, each with its own connection per request)
    transfers: int  # random transfers in the conservation test
    hammer: int  # opposite-direction transfers on one pair
    claims: int  # concurrent daily claims of one member
    appearances: int  # requests in the first-appearance scenarios


LEVELS = {
    "postgres": Level(clients=32, transfers=2000, hammer=400, claims=32, appearances=40),
    "sqlite": Level(clients=8, transfers=400, hammer=200, claims=12, appearances=16),
}


@pytest.fixture
def level(backend: str) -> Level:
    return LEVELS[backend]


@dataclass
class PoolWatch:
    """The most connections in use at once: the engine's pool plus the driver pool.

    A transfer between known members runs on the driver pool (ledger/posting.py, standalone
    posting); everything else on the engine's. Engine checkouts are counted exactly by
    events; the driver pool is read at every event and by a sampler, so ``peak`` is exact
    for the engine alone and sampled for the sum.
    """

    driver: asyncpg.Pool | None
    checked_out: int = 0
    peak: int = 0

    def _driver_in_use(self) -> int:
        if self.driver is None:
            return 0
        return int(self.driver.get_size() - self.driver.get_idle_size())

    def observe(self) -> None:
        self.peak = max(self.peak, self.checked_out + self._driver_in_use())

    def _out(self, *_: Any) -> None:
        self.checked_out += 1
        self.observe()

    def _in(self, *_: Any) -> None:
        self.checked_out -= 1

    async def sample_forever(self) -> None:
        while True:
            self.observe()
            await asyncio.sleep(0.0005)


@pytest.fixture
async def pool_watch(services: Services) -> AsyncIterator[PoolWatch]:
    watch = PoolWatch(await services.standalone_pool())
    pool = services.engine.sync_engine.pool
    event.listen(pool, "checkout", watch._out)
    event.listen(pool, "checkin", watch._in)
    # A connection the relay or a purger holds now is checked in later: count it as out.
    watch.checked_out = getattr(pool, "checkedout", lambda: 0)()
    sampler = asyncio.create_task(watch.sample_forever())
    yield watch
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    event.remove(pool, "checkout", watch._out)
    event.remove(pool, "checkin", watch._in)


class ServerConnections:
    """Samples ``pg_stat_activity`` over a side connection (outside the pool) during a burst."""

    QUERY = text(
        "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak = 0
        self.peak_active = 0
        self.samples = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                while not self._stop.is_set():
                    total, active = (await connection.execute(self.QUERY)).one()
                    await connection.rollback()  # a fresh snapshot for the next sample
                    self.peak = max(self.peak, total)
                    self.peak_active = max(self.peak_active, active)
                    self.samples += 1
        finally:
            await engine.dispose()

    def stop(self) -> None:
        self._stop.set()


async def run_clients(
    clients: int, jobs: Iterable[J], work: Callable[[J], Awaitable[T]]
) -> list[T]:
    """Run ``jobs`` through ``clients`` concurrent workers that start together; results in order."""
    queue = list(enumerate(jobs))
    results: dict[int, T] = {}
    gate = asyncio.Event()
    cursor = iter(queue)

    async def worker() -> None:
        await gate.wait()
        for index, job in cursor:
            results[index] = await work(job)

    tasks = [asyncio.create_task(worker()) for _ in range(clients)]
    gate.set()
    await asyncio.gather(*tasks)
    return [results[i] for i in range(len(queue))]


async def watch_server(
    database_url: str, burst: Awaitable[T]
) -> tuple[T, ServerConnections | None]:
    """Run ``burst`` while sampling PostgreSQL's connection count (None on SQLite)."""
    if not database_url.startswith("postgresql"):
        return await burst, None
    watcher = ServerConnections(database_url)
    sampler = asyncio.create_task(watcher.run())
    try:
        result = await burst
    finally:
        watcher.stop()
        await sampler
    return result, watcher


@dataclass(frozen=True, slots=True)
class LedgerState:
    balances: dict[str, int]  # every account of the guild by user id (system ones by name)
    received: dict[str, int]
    sent: dict[str, int]
    system: frozenset[str]
    tx_counts: dict[str, int]  # ledger transactions by type


async def ledger_state(services: Services, guild_id: str) -> LedgerState:
    async with unit_of_work(services, read_only=True) as uow:
        accounts = (
            await uow.session.execute(
                select(
                    Account.user_id,
                    Account.balance,
                    Account.total_received,
                    Account.total_sent,
                    Account.is_system,
                ).where(Account.guild_id == guild_id)
            )
        ).all()
        counts = (
            await uow.session.execute(
                select(LedgerTransaction.type, func.count())
                .where(LedgerTransaction.guild_id == guild_id)
                .group_by(LedgerTransaction.type)
            )
        ).all()
    return LedgerState(
        balances={a[0]: a[1] for a in accounts},
        received={a[0]: a[2] for a in accounts},
        sent={a[0]: a[3] for a in accounts},
        system=frozenset(a[0] for a in accounts if a[4]),
        tx_counts={str(t): int(n) for t, n in counts},
    )


async def entry_totals(
    services: Services, guild_id: str, types: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per member: the sum of positive and of negative entries of the given transaction types."""
    kinds = list(types)
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(Account.user_id, LedgerEntry.amount)
                .join(LedgerEntry, LedgerEntry.account_id == Account.id)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(Account.guild_id == guild_id, LedgerTransaction.type.in_(kinds))
            )
        ).all()
    received: dict[str, int] = {}
    sent: dict[str, int] = {}
    for user_id, amount in rows:
        if amount > 0:
            received[user_id] = received.get(user_id, 0) + amount
        else:
            sent[user_id] = sent.get(user_id, 0) - amount
    return received, sent


async def assert_integrity(api: httpx.AsyncClient, guild_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/guilds/{guild_id}/bytes/integrity")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert report["ok"], report["problems"]
    assert report["total"] == 0
    return report
