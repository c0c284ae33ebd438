"""What a migrated database holds, for the tests that migrate a private one up and down."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from guildbank.platform.engine import create_engine
from guildbank.platform.models.base import Base

__all__ = ["drift_and_tables"]


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def drift_and_tables(url: str) -> tuple[list[Any], set[str]]:
    """(alembic's differences from the models, the tables that exist)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(_drift)
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    return drift, tables
