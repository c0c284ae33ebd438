"""Embedded SQLite: connection set-up and one writer at a time per process, in arrival order.

SQLite allows one write transaction at a time. Left to itself, a writer that finds the lock
taken sleeps in SQLite's busy handler (1, 2, 5 … 100 ms between attempts) and a newcomer may
win the lock ahead of it, so under 32 concurrent writers a few waited seconds (p99 ~2 s, max
~5-8 s) while the median stayed ~200 ms. Here write transactions first queue on an asyncio
lock (FIFO) in the event loop, then open with ``BEGIN IMMEDIATE``: each waits its turn once,
without polling, and the tail follows the queue's length (``bench/sqlite_load.py``).

The queue only orders writers; SQLite's own lock still guards the data, so other processes
on the same file (``guildbank migrate``, a second worker) are covered by the busy timeout.
Read-only units of work open a plain deferred ``BEGIN`` and never queue (WAL readers do not
block). A writer waits at most the busy timeout for its turn, then fails as SQLite would
("database is locked"), never forever.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "WriterQueue", "configure_sqlite"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_WRITE = "BEGIN IMMEDIATE"


class WriterQueue:
    """One write transaction at a time per event loop, in arrival order.

    Entered in SQLAlchemy's ``begin`` event (which runs in SQLAlchemy's greenlet, so it may
    await through ``AdaptedConnection.run_async``), left when that connection commits or
    rolls back, and, as a safety net, when it goes back to the pool or is invalidated.
    """

    def __init__(self, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._holders: dict[int, asyncio.Lock] = {}  # id(DBAPI connection) -> lock it holds

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _acquire(self, lock: asyncio.Lock) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError:
            # What SQLite's busy timeout would have said: the adapters answer it as such.
            raise exc.OperationalError(
                BEGIN_WRITE, None, sqlite3.OperationalError("database is locked")
            ) from None

    def enter(self, dbapi_connection: Any) -> None:
        """Wait for this process's turn to write (called from a sync SQLAlchemy event)."""
        if id(dbapi_connection) in self._holders:
            return  # this connection's turn has not ended: never wait on ourselves
        lock = self._lock()
        dbapi_connection.run_async(lambda _driver: self._acquire(lock))
        self._holders[id(dbapi_connection)] = lock

    def leave(self, dbapi_connection: Any) -> None:
        """End this connection's turn, if it has one (idempotent)."""
        lock = self._holders.pop(id(dbapi_connection), None)
        if lock is not None:
            lock.release()

    @property
    def writing(self) -> int:
        """Connections holding a turn now (0 or 1 per event loop)."""
        return len(self._holders)


def configure_sqlite(engine: AsyncEngine, *, queue_writers: bool = True) -> WriterQueue | None:
    """Pragmas on every new connection, ``BEGIN IMMEDIATE`` for writers, and the queue."""
    queue = WriterQueue() if queue_writers else None

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("guildbank_read_only", False):
            connection.exec_driver_sql("BEGIN")
            return
        if queue is None:
            connection.exec_driver_sql(BEGIN_WRITE)
            return
        dbapi_connection = connection.connection.dbapi_connection
        queue.enter(dbapi_connection)
        try:
            connection.exec_driver_sql(BEGIN_WRITE)
        except BaseException:
            queue.leave(dbapi_connection)
            raise

    if queue is None:
        return None

    def _end_of_transaction(connection: Any) -> None:
        queue.leave(connection.connection.dbapi_connection)

    def _back_in_pool(dbapi_connection: Any, *_: Any) -> None:
        queue.leave(dbapi_connection)

    event.listen(engine.sync_engine, "commit", _end_of_transaction)
    event.listen(engine.sync_engine, "rollback", _end_of_transaction)
    for name in ("checkin", "invalidate", "soft_invalidate", "detach", "close"):
        event.listen(engine.sync_engine.pool, name, _back_in_pool)
    return queue
