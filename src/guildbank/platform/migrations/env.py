"""Alembic environment: async engines for both backends, batch mode on SQLite.

SQLite migrations run with foreign keys off (checked again once they committed): batch mode
rebuilds a table by dropping the old one, and with foreign keys on that drop cascade-deletes
the rows that reference it (every ledger entry, when ``ledger_transactions`` is rebuilt).
The pragma only takes effect outside a transaction, so it is set on the driver connection
before the migration's transaction begins.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from alembic import context
from sqlalchemy.engine import Connection

from guildbank.platform.engine import create_engine
from guildbank.platform.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    sqlite = engine.dialect.name == "sqlite"
    try:
        async with engine.connect() as connection:
            if sqlite:
                raw = await connection.get_raw_connection()
                await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            await connection.run_sync(_run)
            await connection.commit()
            if sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                await connection.rollback()
                if broken:
                    msg = f"the migration left rows with dangling foreign keys: {broken[:5]}"
                    raise RuntimeError(msg)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    assert url, "no database url given to alembic"
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_async(url))
        return
    # Called from async code (an app or a test): migrate on a private loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _run_async(url)).result()


run_migrations_online()
