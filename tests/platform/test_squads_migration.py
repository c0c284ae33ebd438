"""Migration 0003 (squads): the models match the migrated schema, and it downgrades cleanly.

Runs on a private database per backend, so downgrading never disturbs other tests.
"""

from __future__ import annotations

from guildbank.platform.migrate import downgrade, upgrade
from tests.schema import drift_and_tables

SQUAD_TABLES = {"squads", "squad_memberships"}


async def test_squads_migration_matches_the_models_and_round_trips(empty_database: str) -> None:
    upgrade(empty_database)
    drift, tables = await drift_and_tables(empty_database)
    assert drift == []
    assert tables >= SQUAD_TABLES

    downgrade(empty_database, "0002")
    drift, tables = await drift_and_tables(empty_database)
    assert not tables & SQUAD_TABLES
    assert {"accounts", "ledger_entries", "guilds"} <= tables
    # Missing now: the squad tables, and those of later migrations.
    assert {d[1].name for d in drift if d[0] == "add_table"} >= SQUAD_TABLES

    upgrade(empty_database)
    drift, tables = await drift_and_tables(empty_database)
    assert drift == []
    assert tables >= SQUAD_TABLES
