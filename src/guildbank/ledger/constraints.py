"""Which database constraint refused a statement, named the same way on both backends.

The ledger leans on the schema for its hardest guarantees (no member balance below zero, a
transaction reversed at most once, no amount or balance beyond ``±MAX_AMOUNT``: migration
0008), so it must tell those refusals apart from any other
integrity error. It compares constraint names as the driver reports them, never searches
error text for them.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import DBAPIError

from guildbank.platform.models import Base

__all__ = [
    "AMOUNT_BOUNDS",
    "BALANCE_BOUNDS",
    "ONE_REVERSAL",
    "OVERDRAFT",
    "violated_constraint",
]

# A member account's balance may not go below zero (system accounts may).
OVERDRAFT = "ck_accounts_balance_non_negative"
# The unique index that lets a transaction be reversed only once.
ONE_REVERSAL = "uq_ledger_transactions_reverses_id"
# Balances and running totals, of every account, stay within ±MAX_AMOUNT (core.limits).
BALANCE_BOUNDS = frozenset({"ck_accounts_within_bounds", "ck_ledger_entries_within_bounds"})
# A transaction's amount stays within the bound, and (SQLite) money columns hold integers:
# SQLite would otherwise store a float where a sum left 64 bits.
AMOUNT_BOUNDS = frozenset(
    {
        "ck_ledger_transactions_within_bounds",
        "ck_accounts_money_is_integer",
        "ck_ledger_transactions_money_is_integer",
        "ck_ledger_entries_money_is_integer",
    }
)


def violated_constraint(error: BaseException) -> str | None:
    """The name of the constraint ``error`` reports as violated, if it reports one.

    ``error`` is a SQLAlchemy ``DBAPIError`` (it wraps the driver's exception) or a driver
    exception itself (the standalone posting talks to asyncpg directly).
    """
    driver: BaseException = error.driver_exception if isinstance(error, DBAPIError) else error
    # asyncpg: PostgreSQL reports the violated constraint in a field of its own.
    name = getattr(driver, "constraint_name", None)
    if isinstance(name, str):
        return name
    if isinstance(driver, sqlite3.Error):
        return _sqlite_constraint(driver)
    return None


def _sqlite_constraint(error: sqlite3.Error) -> str | None:
    """SQLite's driver reports no structured constraint name, only two things we can rely on:

    * the extended result code (``sqlite_errorname``) says which kind of constraint failed;
    * the message then has SQLite's fixed form ``"<KIND> constraint failed: <subject>"``,
      where the subject of a CHECK is the constraint's own name (ours are all named, by the
      naming convention) and the subject of a UNIQUE is the columns (``"table.col, ..."``).

    So the code gates the parse, the CHECK name is taken whole (never searched for), and the
    UNIQUE columns are resolved to their unique index's name through the models' metadata:
    callers compare the same names as on PostgreSQL.
    """
    kind = _SQLITE_KINDS.get(getattr(error, "sqlite_errorname", ""))
    message = str(error)
    prefix = f"{kind} constraint failed: "
    if kind is None or not message.startswith(prefix):
        return None
    subject = message.removeprefix(prefix)
    if kind == "CHECK":
        return subject
    qualified = [part.strip().partition(".") for part in subject.split(",")]
    tables = {table for table, _, _ in qualified}
    if len(tables) != 1:
        return None
    return _unique_name(tables.pop(), frozenset(column for _, _, column in qualified))


_SQLITE_KINDS = {"SQLITE_CONSTRAINT_CHECK": "CHECK", "SQLITE_CONSTRAINT_UNIQUE": "UNIQUE"}


def _unique_name(table_name: str, columns: frozenset[str]) -> str | None:
    """The name of the unique index or constraint of ``table_name`` over exactly ``columns``."""
    table = Base.metadata.tables.get(table_name)
    if table is None:
        return None
    uniques = [index for index in table.indexes if index.unique] + [
        constraint for constraint in table.constraints if isinstance(constraint, UniqueConstraint)
    ]
    for unique in uniques:
        if frozenset(column.name for column in unique.columns) == columns:
            return str(unique.name) if unique.name else None
    return None
