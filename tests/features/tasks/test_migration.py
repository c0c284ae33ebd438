"""Migration 0013 (tasks): the models match the migrated schema, and it downgrades cleanly.

Runs on a private database per backend, so downgrading never disturbs other tests.
"""

from __future__ import annotations

from guildbank.platform.migrate import downgrade, upgrade
from tests.schema import drift_and_tables

TASK_TABLES = {"tasks", "member_tasks", "task_settings", "scheduler_leases"}


async def test_tasks_migration_matches_the_models_and_round_trips(empty_database: str) -> None:
    upgrade(empty_database)
    drift, tables = await drift_and_tables(empty_database)
    assert drift == []
    assert tables >= TASK_TABLES

    downgrade(empty_database, "0012")
    drift, tables = await drift_and_tables(empty_database)
    assert not tables & TASK_TABLES
    # Missing now: the task tables, and those of later migrations.
    assert {d[1].name for d in drift if d[0] == "add_table"} >= TASK_TABLES

    upgrade(empty_database)
    drift, tables = await drift_and_tables(empty_database)
    assert drift == []
    assert tables >= TASK_TABLES
