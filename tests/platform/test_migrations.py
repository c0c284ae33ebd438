"""Alembic migrations: up from nothing, down to nothing, up again, with no drift from the models.

Each backend gets its own empty database (a temporary SQLite file; a PostgreSQL database
created and dropped here), never the shared test database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from guildbank.platform.engine import create_engine
from guildbank.platform.migrate import alembic_config, downgrade, upgrade
from guildbank.platform.models.base import Base
from tests.conftest import PG_ADMIN_DSN, PG_HOST

PG_DATABASE = f"guildbank_migrations_{os.getpid()}"
APP_TABLES = set(Base.metadata.tables)


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, of each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{PG_DATABASE}"'))
    try:
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{PG_DATABASE}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    found: dict[str, Any] = {"tables": set(inspector.get_table_names()) - {"alembic_version"}}
    if connection.dialect.name == "postgresql":
        found["functions"] = set(
            connection.execute(
                text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n "
                    "ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                )
            ).scalars()
        )
        found["triggers"] = set(
            connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
        )
        found["types"] = set(
            connection.execute(
                text(
                    "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype = 'e'"
                )
            ).scalars()
        )
    else:
        found["other"] = set(
            connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'view') "
                    "UNION SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                )
            ).scalars()
        )
    return found


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _inspect(url: str) -> tuple[dict[str, Any], list[Any]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            schema = await connection.run_sync(_schema)
            drift = await connection.run_sync(_drift)
    finally:
        await engine.dispose()
    return schema, drift


def inspect_database(url: str) -> tuple[dict[str, Any], list[Any]]:
    """(what exists in the database, alembic's differences from the models)."""
    return asyncio.run(_inspect(url))


def assert_empty(url: str) -> None:
    schema, _ = inspect_database(url)
    assert schema["tables"] == set(), schema["tables"]
    assert not schema.get("functions"), schema
    assert not schema.get("triggers"), schema
    assert not schema.get("types"), schema
    assert not schema.get("other"), schema


def assert_at_head(url: str) -> None:
    schema, drift = inspect_database(url)
    assert schema["tables"] == APP_TABLES
    assert drift == [], drift
    if "functions" in schema:
        assert {"guildbank_post", "guildbank_check_zero_sum"} <= schema["functions"]
        assert "ledger_entries_zero_sum" in schema["triggers"]


def test_models_cover_the_ledger() -> None:
    assert {
        "guilds",
        "guild_settings",
        "accounts",
        "ledger_transactions",
        "ledger_entries",
        "idempotency_records",
        "api_keys",
    } <= APP_TABLES


def test_upgrade_downgrade_upgrade_without_drift(empty_url: str) -> None:
    assert_empty(empty_url)
    upgrade(empty_url)
    assert_at_head(empty_url)
    downgrade(empty_url, "base")
    assert_empty(empty_url)
    upgrade(empty_url)
    assert_at_head(empty_url)


def test_each_revision_steps_up_and_down(empty_url: str) -> None:
    """Every migration's downgrade undoes exactly its upgrade, one step at a time."""
    script = ScriptDirectory.from_config(alembic_config(empty_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]
    assert len(script.get_heads()) == 1, script.get_heads()
    assert revisions[0] == "0001"
    states = [inspect_database(empty_url)[0]]
    for revision in revisions:
        upgrade(empty_url, revision)
        states.append(inspect_database(empty_url)[0])
    assert_at_head(empty_url)
    for index in range(len(revisions), 0, -1):
        downgrade(empty_url, "-1")
        assert inspect_database(empty_url)[0] == states[index - 1], revisions[index - 1]
    assert_empty(empty_url)


def test_drift_check_notices_a_difference(empty_url: str) -> None:
    """The control for the drift assertions above: a missing index is reported."""
    upgrade(empty_url)

    async def drop_index() -> None:
        engine = create_engine(empty_url, pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP INDEX ix_ledger_entries_transaction"))
        finally:
            await engine.dispose()

    asyncio.run(drop_index())
    _, drift = inspect_database(empty_url)
    assert [d[0] for d in drift] == ["add_index"], drift
