"""Migration 0008 (amount bounds) on a ledger that already has rows, on both backends.

SQLite rebuilds the three ledger tables to add its checks, with foreign keys on: done the
obvious way (Alembic's batch mode on ``accounts``), dropping the old table cascade-deletes
every ledger entry. These tests prove every row survives the upgrade and the downgrade, and
that rows already past the bound stop the upgrade with a message instead of half-migrating.

Runs on a private database per backend, so migrating up and down never disturbs other tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import downgrade, upgrade

LEDGER = ("accounts", "ledger_transactions", "ledger_entries")
# Two members, an opening each, a transfer and its reversal: every foreign key in use.
ROWS = (
    "INSERT INTO guilds (id, name) VALUES ('7', 'g')",
    "INSERT INTO accounts (id, guild_id, user_id, is_system, balance, total_received, total_sent)"
    " VALUES (1, '7', 'mint', true, -200, 0, 200), (2, '7', 'sink', true, 0, 0, 0),"
    " (3, '7', '300000000000000001', false, 100, 30, 30),"
    " (4, '7', '300000000000000002', false, 100, 30, 30)",
    "INSERT INTO ledger_transactions (id, guild_id, type, amount, reverses_id) VALUES"
    " (1, '7', 'opening', 100, NULL), (2, '7', 'opening', 100, NULL),"
    " (3, '7', 'transfer', 30, NULL), (4, '7', 'reversal', 30, 3)",
    "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, balance_before,"
    " balance_after) VALUES (1, 1, 1, -100, 0, -100), (2, 1, 3, 100, 0, 100),"
    " (3, 2, 1, -100, -100, -200), (4, 2, 4, 100, 0, 100), (5, 3, 3, -30, 100, 70),"
    " (6, 3, 4, 30, 100, 130), (7, 4, 3, 30, 70, 100), (8, 4, 4, -30, 130, 100)",
)

_ADVANCE_SEQUENCE = "SELECT setval(pg_get_serial_sequence('{0}', 'id'), (SELECT max(id) FROM {0}))"


async def _execute(url: str, *statements: str, **values: Any) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), values)
    finally:
        await engine.dispose()


async def _ledger(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in await connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))  # noqa: S608 (fixed names)
                ]
                for table in LEDGER
            }
    finally:
        await engine.dispose()


async def test_every_row_survives_the_upgrade_and_the_downgrade(empty_database: str) -> None:
    upgrade(empty_database, "0007")
    await _execute(empty_database, *ROWS)
    before = await _ledger(empty_database)
    assert [len(rows) for rows in before.values()] == [4, 4, 8]
    upgrade(empty_database, "0008")
    assert await _ledger(empty_database) == before
    # The checks are in place: a balance past the bound is refused now.
    with pytest.raises(IntegrityError, match="within_bounds"):
        await _execute(empty_database, "UPDATE accounts SET balance = :v WHERE id = 3", v=2**53)
    downgrade(empty_database, "0007")
    assert await _ledger(empty_database) == before
    await _execute(empty_database, "UPDATE accounts SET total_sent = :v WHERE id = 3", v=2**53)


async def test_rows_past_the_bound_stop_the_upgrade_and_stay_as_they_were(
    backend: str, empty_database: str
) -> None:
    upgrade(empty_database, "0007")
    # What the unbounded daily left behind: SQLite a float mint, PostgreSQL a huge bigint.
    mint = -1.2e19 if backend == "sqlite" else -(2**60)
    await _execute(empty_database, *ROWS)
    await _execute(empty_database, "UPDATE accounts SET balance = :v WHERE id = 1", v=mint)
    before = await _ledger(empty_database)
    with pytest.raises(RuntimeError, match=r"accounts ids \[1\]"):
        upgrade(empty_database, "0008")
    assert await _ledger(empty_database) == before


async def test_an_existing_ledger_keeps_every_row_through_every_migration(
    empty_database: str,
) -> None:
    """Migration 0004 rebuilds ``ledger_transactions`` on SQLite; with foreign keys on, that
    used to cascade-delete every ledger entry (platform/migrations/env.py)."""
    upgrade(empty_database, "0003")
    await _execute(empty_database, *ROWS)
    if empty_database.startswith("postgresql"):  # rows written with ids, as a dump restores
        await _execute(empty_database, *(_ADVANCE_SEQUENCE.format(t) for t in LEDGER))
    before = await _ledger(empty_database)
    upgrade(empty_database)
    after = await _ledger(empty_database)
    for table, rows in before.items():  # later migrations may add rows (system accounts)
        kept = {row[0] for row in after[table]}
        assert {row[0] for row in rows} <= kept, table
    assert len(after["ledger_entries"]) == 8
