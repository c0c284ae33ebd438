"""Engine set-up for both backends, and the process's PostgreSQL connection budget.

PostgreSQL: a process holds at most ``2 x pool_size`` connections. The SQLAlchemy pool (units
of work) has ``pool_size`` and never overflows; the fast path's asyncpg pool (``DriverPool``,
one-statement transfers) mirrors that size (``platform.uow.Services``). Settings give the
budget (``GUILDBANK_DATABASE_CONNECTIONS``), split in two halves; docs/scaling.md has the
arithmetic for N processes. Busy requests wait for a pooled connection rather than open
more. Every connection carries an ``application_name`` (``guildbank`` unless the URL names
one) so ``pg_stat_activity`` shows whose it is, and checkouts ping first, so a killed
backend is replaced rather than handed out.

SQLite: see ``platform/sqlite.py`` (WAL, busy timeout, one queued writer at a time).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from guildbank.platform.sqlite import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite

__all__ = [
    "APPLICATION_NAME",
    "READ_ONLY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "DriverPool",
    "create_engine",
    "ensure_sqlite_directory",
    "is_sqlite",
]

READ_ONLY = {"guildbank_read_only": True}
APPLICATION_NAME = "guildbank"
# Recycle pooled connections before typical server, proxy and firewall idle timeouts.
RECYCLE_SECONDS = 1800
# bench/sqlite_load.py switches the writer queue off in its reference server.
SQLITE_WRITE_QUEUE = True


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a file-backed SQLite database (``./data`` by default)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def with_application_name(url: str | URL) -> URL:
    """The URL with ``application_name`` in its query (kept if it has one): asyncpg reads it
    from the driver pool's DSN, and ``create_engine`` hands it to SQLAlchemy's connections."""
    parsed = make_url(url)
    if "application_name" in parsed.query:
        return parsed
    return parsed.update_query_dict({"application_name": APPLICATION_NAME})


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The engine; on PostgreSQL ``pool_size`` is a hard cap (see the module docstring)."""
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        configure_sqlite(engine, queue_writers=SQLITE_WRITE_QUEUE)
        return engine
    engine = create_async_engine(
        with_application_name(url),
        pool_size=pool_size,
        max_overflow=0,  # the budget: wait for a connection rather than open one more
        pool_pre_ping=True,  # a killed or restarted backend is replaced at checkout
        pool_recycle=RECYCLE_SECONDS,
    )

    @event.listens_for(engine.sync_engine, "do_connect")
    def _application_name(_dialect: Any, _record: Any, _args: Any, params: Any) -> None:
        # SQLAlchemy passes URL query keys to asyncpg.connect(), which takes server settings
        # in a dict of their own.
        name = params.pop("application_name", None)
        if name is not None:
            params["server_settings"] = {
                **params.get("server_settings", {}),
                "application_name": name,
            }

    return engine


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """The driver pool runs only self-contained autocommitted statements: no session state
    (settings, cursors, listeners, advisory locks) to reset, so skip asyncpg's reset query
    and its round trip on every release (an open transaction is still rolled back)."""


class DriverPool:
    """A plain asyncpg pool beside SQLAlchemy's (PostgreSQL only).

    For statements that are a whole transaction by themselves, above all the standalone
    posting of a transfer (``ledger/posting.py``): no ORM session, no BEGIN/COMMIT, just the one
    round trip. Created on first use, since it needs the running event loop.
    """

    def __init__(self, url: str, *, max_size: int) -> None:
        dsn = with_application_name(url).set(drivername="postgresql")
        self._dsn = dsn.render_as_string(hide_password=False)
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._max_size, reset=_nothing_to_reset
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
