"""What counts as "the database is unavailable" (503) and what stays a bug (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc

from guildbank.platform.faults import is_database_unavailable


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> BaseException:
    """As SQLAlchemy raises a driver's error."""
    return exc.DBAPIError.instance(
        "SELECT 1", None, orig, Exception, connection_invalidated=invalidated
    )


def _caused_by(cause: BaseException) -> BaseException:
    """As SQLAlchemy's asyncpg adapter raises: its own error, caused by asyncpg's."""
    try:
        try:
            raise cause
        except BaseException as error:
            raise RuntimeError("adapter error") from error
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 12"),
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        _wrapped(Exception("connection is closed"), invalidated=True),
        _wrapped(sqlite3.OperationalError("database is locked")),
        exc.TimeoutError("QueuePool limit reached"),
        _caused_by(asyncpg.exceptions.AdminShutdownError("terminating connection")),
    ],
    ids=repr,
)
def test_lost_refused_or_locked_connections_are_unavailability(error: BaseException) -> None:
    assert is_database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedTableError("relation does not exist"),
        asyncpg.exceptions.DataError("invalid input for query argument $1"),
        _wrapped(sqlite3.OperationalError("no such table: accounts")),
        _wrapped(sqlite3.IntegrityError("CHECK constraint failed")),
        ValueError("a bug"),
        KeyError("a bug"),
    ],
    ids=repr,
)
def test_statement_errors_and_bugs_are_not(error: BaseException) -> None:
    assert not is_database_unavailable(error)
