"""Writing a guild export: every row of the guild as one JSON document, streamed.

The document (``docs/backup.md`` shows it)::

    {"format": "guildbank.guild-export", "version": 2, "guild_id": "…", "exported_at": "…",
     "schema_revision": "0020", "guildbank_version": "…",
     "tables": {"guilds": [{…}], "accounts": [{…, "opening_balance": 0}], …,
                "ledger_transactions": [{…, "entries": [{…}]}], …},
     "counts": {"guilds": 1, "accounts": 42, …}}

One row per line, each table in ``tables.TABLES`` order, rows by id. Every row but the
guild's own lacks ``guild_id`` (the document's). An account's ``opening_balance`` is its
balance less the sum of its exported entries: zero unless older history was moved to the
archive. Transactions come in posting order (by their first entry), each with its entries.

Everything is read in one snapshot (SQLite: one read transaction; PostgreSQL: REPEATABLE
READ), row batches through server-side cursors: an export of a busy guild is consistent,
and memory stays flat whatever its size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

import orjson
from sqlalchemy import BigInteger, Select, Table, cast, func, select, text

from guildbank.features.backup.tables import FORMAT, LEDGER, TABLES, VERSION
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.platform.models import Base
from guildbank.platform.uow import UnitOfWork

__all__ = ["export_chunks", "guild_exists"]

BATCH = 500
CHUNK = 64 * 1024
_JSON = orjson.OPT_NAIVE_UTC


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _version() -> str:
    try:
        return package_version("guildbank")
    except PackageNotFoundError:  # pragma: no cover - always installed in practice
        return "unknown"


async def guild_exists(uow: UnitOfWork, guild_id: str) -> bool:
    guilds = _table("guilds")
    found = await uow.session.execute(select(guilds.c.id).where(guilds.c.id == guild_id))
    return found.first() is not None


async def _revision(uow: UnitOfWork) -> str | None:
    row = (await uow.session.execute(text("SELECT version_num FROM alembic_version"))).first()
    return None if row is None else str(row[0])


def _rows_query(name: str, guild_id: str) -> Select[Any]:
    table = _table(name)
    if name == "guilds":
        return select(table).where(table.c.id == guild_id)
    columns = [c for c in table.c if c.name != "guild_id"]
    if name == "accounts":
        entries = _table("ledger_entries")
        entries_sum = (
            select(func.coalesce(func.sum(entries.c.amount), 0))
            .where(entries.c.account_id == table.c.id)
            .scalar_subquery()
        )
        opening = cast(table.c.balance - entries_sum, BigInteger).label("opening_balance")
        return select(*columns, opening).where(table.c.guild_id == guild_id).order_by(table.c.id)
    order = list(table.primary_key.columns) if "id" not in table.c else [table.c.id]
    return select(*columns).where(table.c.guild_id == guild_id).order_by(*order)


def _ledger_query(guild_id: str) -> Select[Any]:
    """Each entry with its transaction's columns, in posting order: transactions by their
    first entry (the order each account's entries chain in, whatever the order their ids
    were handed out), entries by id."""
    transactions = _table(LEDGER)
    entries = _table("ledger_entries")
    rows = (
        select(
            *[c for c in transactions.c if c.name != "guild_id"],
            entries.c.id.label("entry_id"),
            entries.c.account_id.label("entry_account_id"),
            entries.c.amount.label("entry_amount"),
            entries.c.balance_before.label("entry_balance_before"),
            entries.c.balance_after.label("entry_balance_after"),
            func.min(entries.c.id).over(partition_by=entries.c.transaction_id).label("first"),
        )
        .join(transactions, transactions.c.id == entries.c.transaction_id)
        .where(transactions.c.guild_id == guild_id)
        .subquery()
    )
    return select(rows).order_by(rows.c.first, rows.c.entry_id)


class _Writer:
    """Rows into JSON lines, handed out in chunks of about ``CHUNK`` bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> bytes | None:
        self.parts.append(data)
        self.size += len(data)
        if self.size < CHUNK:
            return None
        return self.flush()

    def flush(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


async def _stream(uow: UnitOfWork, query: Select[Any]) -> AsyncIterator[Mapping[str, Any]]:
    result = await uow.session.stream(query.execution_options(yield_per=BATCH))
    try:
        async for row in result:
            # Plain str keys: orjson refuses str subclasses (SQLAlchemy's quoted names).
            yield {str(key): value for key, value in row._mapping.items()}
    finally:
        await result.close()


async def _ledger_rows(uow: UnitOfWork, guild_id: str) -> AsyncIterator[dict[str, Any]]:
    """One transaction at a time, with its entries."""
    current: dict[str, Any] | None = None
    async for row in _stream(uow, _ledger_query(guild_id)):
        if current is None or current["id"] != row["id"]:
            if current is not None:
                yield current
            current = {
                key: value
                for key, value in row.items()
                if not key.startswith("entry_") and key != "first"
            }
            current["entries"] = []
        current["entries"].append(
            {
                "account_id": row["entry_account_id"],
                "amount": row["entry_amount"],
                "balance_before": row["entry_balance_before"],
                "balance_after": row["entry_balance_after"],
            }
        )
    if current is not None:
        yield current


async def export_chunks(uow: UnitOfWork, *, guild_id: str, now: datetime) -> AsyncIterator[bytes]:
    """The guild's export as byte chunks (GuildNotFound before the first chunk)."""
    if uow.services.dialect == "postgresql":
        # One snapshot for every statement of the export (must come first in the transaction).
        await uow.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    if not await guild_exists(uow, guild_id):
        raise GuildNotFound(guild_id)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "guild_id": guild_id,
        "exported_at": now,
        "schema_revision": await _revision(uow),
        "guildbank_version": _version(),
    }
    writer = _Writer()
    yield orjson.dumps(header, option=_JSON)[:-1] + b',\n"tables":{'
    counts: dict[str, int] = {}
    for number, spec in enumerate(TABLES):
        writer.add(b"," if number else b"")
        writer.add(orjson.dumps(spec.name) + b":[")
        count = 0
        rows: AsyncIterator[Mapping[str, Any]] = (
            _ledger_rows(uow, guild_id)
            if spec.name == LEDGER
            else _stream(uow, _rows_query(spec.name, guild_id))
        )
        async for row in rows:
            chunk = writer.add((b",\n" if count else b"\n") + orjson.dumps(dict(row), option=_JSON))
            count += 1
            if chunk is not None:
                yield chunk
        counts[spec.name] = count
        writer.add(b"]")
    writer.add(b'},\n"counts":' + orjson.dumps(counts) + b"}\n")
    yield writer.flush()
