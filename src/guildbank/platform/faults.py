"""Which errors mean "the database is unavailable right now", as opposed to a bug.

A lost or killed connection (a restart, a failover, ``pg_terminate_backend``), a refused
connect, an exhausted pool or a SQLite database locked past its busy timeout is transient:
the adapters answer it as "try again shortly" (HTTP 503 with ``Retry-After``) instead of an
internal error, and the pools heal on the next checkout (``platform/engine.py``). The errors
arrive raw from the driver pool (asyncpg) or wrapped by SQLAlchemy, so the whole cause chain
is examined.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc as sa

__all__ = ["DATABASE_ERRORS", "is_database_unavailable"]

# What a fault can surface as: the adapters catch these and ask ``is_database_unavailable``.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    sqlite3.Error,
    OSError,  # ConnectionError, and TimeoutError on connect
)

# Always transient: pool checkout timed out or failed its ping; PostgreSQL error classes
# meaning the connection or the server, not the statement, failed (08 connection exception,
# incl. asyncpg's ConnectionDoesNotExistError; 57 operator intervention: admin shutdown,
# cannot connect now, cancelled; 53 insufficient resources: too many connections; 40
# transaction rollback: deadlock, serialization failure); asyncpg's protocol meeting a
# connection killed mid-statement ("cannot switch to state …"); refused, reset or timed-out
# sockets.
_TRANSIENT = (
    sa.TimeoutError,
    sa.DisconnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)
# asyncpg's InterfaceError family also holds client-side mistakes, which are bugs.
_ASYNCPG_CLIENT_MISTAKES = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)
# SQLite primary result codes that are the database's state, not the statement's fault.
_SQLITE_TRANSIENT = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
}
_MAX_CHAIN = 8


def _causes(error: BaseException) -> list[BaseException]:
    """``error``, then what it wraps (SQLAlchemy's ``orig``, ``__cause__``, ``__context__``)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < _MAX_CHAIN:
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return chain


def _sqlite_transient(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # made by hand (e.g. the writer queue's "database is locked")
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in _SQLITE_TRANSIENT


def _transient(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return _sqlite_transient(error)
    if isinstance(error, asyncpg.InterfaceError):
        # "connection is closed", "another operation is in progress" on a broken connection.
        return not isinstance(error, _ASYNCPG_CLIENT_MISTAKES)
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TRANSIENT)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not serve the request right now."""
    return any(_transient(cause) for cause in _causes(error))
