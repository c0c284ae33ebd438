"""Migration 0003 (squads): the models match the migrated schema, and it downgrades cleanly.

Runs on a private database per backend, so downgrading never disturbs other tests.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import downgrade, upgrade
from guildbank.platform.models.base import Base
from tests.conftest import PG_ADMIN_DSN, PG_HOST

SQUAD_TABLES = {"squads", "squad_memberships"}


@pytest.fixture
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"guildbank_migration_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(_drift)
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    return drift, tables


async def test_squads_migration_matches_the_models_and_round_trips(empty_database: str) -> None:
    upgrade(empty_database)
    drift, tables = await _inspect(empty_database)
    assert drift == []
    assert tables >= SQUAD_TABLES

    downgrade(empty_database, "0002")
    drift, tables = await _inspect(empty_database)
    assert not tables & SQUAD_TABLES
    assert {"accounts", "ledger_entries", "guilds"} <= tables
    assert {d[1].name for d in drift if d[0] == "add_table"} == SQUAD_TABLES

    upgrade(empty_database)
    drift, tables = await _inspect(empty_database)
    assert drift == []
    assert tables >= SQUAD_TABLES
