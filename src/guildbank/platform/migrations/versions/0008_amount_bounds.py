"""Amounts that cannot overflow: every money column within ±(2**53 - 1), integers only.

``core.limits.MAX_AMOUNT`` is the one bound of money (docs/amounts-and-text.md). The ledger's
money columns get CHECK constraints, so a posting that would cross the bound is refused whole
by the database (``ledger.posting`` translates the constraint, by name, into
``BalanceLimit``), on PostgreSQL (where ``guildbank_post``'s UPDATE raises the check_violation)
and on SQLite, which also gets ``typeof(...) = 'integer'`` checks: its columns would store a
float where an integer left 64 bits (a mint at -1.2e19 made the ledger unreadable).

Rows already beyond the bound stop the upgrade with a message naming them (nothing is
changed): reverse or adjust them first.

SQLite adds a CHECK only by rebuilding the table, and dropping ``accounts`` with foreign keys
on (the engine turns them on, and a transaction cannot turn them off) would cascade-delete
every ledger entry. So the three tables are emptied (children first) into temporary copies,
rebuilt empty by Alembic's batch mode, and filled again: every row re-enters through the new
checks and the foreign keys.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MAX_AMOUNT = 2**53 - 1  # core.limits.MAX_AMOUNT when written; a migration keeps its own copy
# Table -> its money columns, in the order the ledger fills them.
MONEY = {
    "accounts": ("balance", "total_received", "total_sent"),
    "ledger_transactions": ("amount",),
    "ledger_entries": ("amount", "balance_before", "balance_after"),
}
# Parents before children (refill order); emptied and rebuilt in the reverse order.
TABLES = tuple(MONEY)


def _within(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{c} BETWEEN {-MAX_AMOUNT} AND {MAX_AMOUNT}" for c in columns)


def _integers(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"typeof({c}) = 'integer'" for c in columns)


def _stash(table: str) -> str:
    return f"_guildbank_0008_{table}"


def _refuse_rows_beyond_bounds(sqlite: bool) -> None:
    found: list[str] = []
    for table, columns in MONEY.items():
        allowed = _within(columns) + (f" AND {_integers(columns)}" if sqlite else "")
        rows: sa.CursorResult[Any] = op.get_bind().execute(
            sa.select(sa.column("id"))
            .select_from(sa.table(table))
            .where(sa.text(f"NOT ({allowed})"))
        )
        ids = [row[0] for row in rows]
        if ids:
            found.append(f"{table} ids {ids[:20]}")
    if found:
        msg = (
            f"Rows hold money beyond ±{MAX_AMOUNT} or not whole numbers: {'; '.join(found)}. "
            "Reverse or adjust them with the previous version, then upgrade again."
        )
        raise RuntimeError(msg)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _refuse_rows_beyond_bounds(sqlite)
    if not sqlite:
        for table, columns in MONEY.items():
            op.create_check_constraint(op.f(f"ck_{table}_within_bounds"), table, _within(columns))
        return
    _rebuild_sqlite(add=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in reversed(TABLES):
            op.drop_constraint(op.f(f"ck_{table}_within_bounds"), table, type_="check")
        return
    _rebuild_sqlite(add=False)


def _rebuild_sqlite(*, add: bool) -> None:
    """Rebuild the three tables with (``add``) or without the checks, keeping every row."""
    for table in TABLES:
        # Table names are this module's constants, never input.
        op.execute(f"CREATE TEMP TABLE {_stash(table)} AS SELECT * FROM {table}")  # noqa: S608
    for table in reversed(TABLES):
        op.execute(sa.delete(sa.table(table)))
    for table in reversed(TABLES):
        columns = MONEY[table]
        with op.batch_alter_table(table, recreate="always") as batch:
            if add:
                batch.create_check_constraint(op.f(f"ck_{table}_within_bounds"), _within(columns))
                batch.create_check_constraint(
                    op.f(f"ck_{table}_money_is_integer"), _integers(columns)
                )
            else:
                batch.drop_constraint(op.f(f"ck_{table}_money_is_integer"), type_="check")
                batch.drop_constraint(op.f(f"ck_{table}_within_bounds"), type_="check")
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        names = [column["name"] for column in inspector.get_columns(table)]
        stash = sa.table(_stash(table), *map(sa.column, names))
        op.execute(
            sa.insert(sa.table(table, *map(sa.column, names))).from_select(
                names, sa.select(stash).order_by(stash.c.id)
            )
        )
        op.execute(f"DROP TABLE {_stash(table)}")
