"""Big, consistent ledgers for the benchmarks, bulk-loaded in seconds instead of posted.

``bulk_load`` writes a guild's members the way the ledger would have: each member's account
opened with a ``starting_balance`` transaction from the mint (its balance drawn at random, a
share of members left at exactly the starting balance, as dormant members are), then random
transfers between members, every entry chaining its account's balance before and after in
id order. The rows go in with ``COPY`` on PostgreSQL (triggers off for the load:
``session_replication_role = replica``) and ``executemany`` on SQLite, then the sequences,
the mint's balance and the planner statistics are brought up to date. Nothing is trusted:
the benchmarks run the integrity check on the result before timing anything.

Used by bench/leaderboard.py, bench/integrity.py and bench/daily.py (with bench/probes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from array import array
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.ledger import integrity
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.services import build_services
from guildbank.settings import Settings

__all__ = [
    "LedgerShape",
    "bench_services",
    "bulk_load",
    "check_ok",
    "drop_database",
    "fresh_database",
    "pg_admin",
    "register",
    "user_id",
]

HOST = "127.0.0.1"
PG_ADMIN = f"postgresql://postgres@{HOST}:5432/postgres"
LOADED_AT = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_USER = 400_000_000_000_000_000
STARTING_BALANCE = 100  # the guild default


def user_id(n: int) -> str:
    """The n-th bench member's Discord id (the same in every guild)."""
    return str(FIRST_USER + n)


@dataclass(frozen=True, slots=True)
class LedgerShape:
    """How a loaded guild looks: members, random transfers between them, dormant members."""

    members: int
    transfers: int = 0
    dormant_share: float = 0.3  # members left at exactly the starting balance (ties)
    seed: int = 11


# --------------------------------------------------------------------------- databases


async def pg_admin(*statements: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def fresh_database(backend: str, name: str, folder: Path) -> str:
    """An empty, migrated database; returns its SQLAlchemy URL."""
    if backend == "sqlite":
        path = folder / f"{name}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        await pg_admin(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
        )
        url = f"postgresql+asyncpg://postgres@{HOST}:5432/{name}"
    await asyncio.to_thread(upgrade, url)
    return url


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{parsed.database}{suffix}").unlink, missing_ok=True)
        return
    await pg_admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def bench_services(url: str, **settings: Any) -> AsyncIterator[Services]:
    """Services as a web process builds them from its settings, closed at the end."""
    services = build_services(
        Settings(_env_file=None, database_url=url, log_level="WARNING", **settings)
    )
    try:
        yield services
    finally:
        await services.close()


async def register(services: Services, guild_id: str) -> None:
    """A guild with its mint and sink, the rate limit off (benchmarks hammer one member)."""
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=guild_id, name="bench")
        await update_config(uow, guild_id=guild_id, changes={"rate_limit_per_minute": 0})
        await uow.commit()


async def check_ok(services: Services, guild_id: str) -> integrity.IntegrityReport:
    """The integrity check, which must pass before anything is timed."""
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
        await uow.commit()
    if not report.ok:
        msg = f"the loaded ledger of {guild_id} is inconsistent: {report.problems[:5]}"
        raise SystemExit(msg)
    return report


# --------------------------------------------------------------------------- the rows


@dataclass
class _Rows:
    """A guild's generated rows: accounts by position, transactions, entries (all with ids)."""

    guild_id: str
    first_account: int
    balances: array[int]
    received: array[int]
    sent: array[int]
    transactions: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]
    mint_delta: int

    def accounts(self) -> Iterator[tuple[Any, ...]]:
        for i, balance in enumerate(self.balances):
            yield (
                self.first_account + i,
                self.guild_id,
                user_id(i + 1),
                balance,
                self.received[i],
                self.sent[i],
                LOADED_AT,
                LOADED_AT,
            )


ACCOUNT_COLUMNS = (
    "id",
    "guild_id",
    "user_id",
    "balance",
    "total_received",
    "total_sent",
    "created_at",
    "updated_at",
)
TRANSACTION_COLUMNS = ("id", "guild_id", "type", "amount", "reason", "actor_id", "created_at")
ENTRY_COLUMNS = ("id", "transaction_id", "account_id", "amount", "balance_before", "balance_after")


def _rows(
    guild_id: str, shape: LedgerShape, mint: tuple[int, int], ids: tuple[int, int, int]
) -> _Rows:
    """Every row of the guild's members, chained from the mint's current balance."""
    rng = random.Random(shape.seed)
    mint_id, mint_balance = mint
    first_account, tx_id, entry_id = ids
    n = shape.members
    balances = array("q", [0]) * n
    transactions: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    for i in range(n):
        if rng.random() < shape.dormant_share:
            opening = STARTING_BALANCE
        else:  # long-tailed: most near the start, a few very rich
            opening = STARTING_BALANCE + int(rng.paretovariate(1.3) * 40) - 40
        balances[i] = opening
        transactions.append(
            (tx_id, guild_id, "starting_balance", opening, "Starting balance", None, LOADED_AT)
        )
        entries.append((entry_id, tx_id, mint_id, -opening, mint_balance, mint_balance - opening))
        entries.append((entry_id + 1, tx_id, first_account + i, opening, 0, opening))
        mint_balance -= opening
        tx_id += 1
        entry_id += 2
    received = array("q", [0]) * n
    sent = array("q", [0]) * n
    for _ in range(shape.transfers):
        giver, receiver = rng.randrange(n), rng.randrange(n)
        if giver == receiver or balances[giver] == 0:
            continue
        amount = rng.randint(1, min(50, balances[giver]))
        transactions.append((tx_id, guild_id, "transfer", amount, None, user_id(giver), LOADED_AT))
        legs = sorted(((giver, -amount), (receiver, amount)))
        for position, delta in legs:
            before = balances[position]
            entries.append(
                (entry_id, tx_id, first_account + position, delta, before, before + delta)
            )
            balances[position] = before + delta
            entry_id += 1
        sent[giver] += amount
        received[receiver] += amount
        tx_id += 1
    return _Rows(
        guild_id,
        first_account,
        balances,
        received,
        sent,
        transactions,
        entries,
        mint_balance - mint[1],
    )


# --------------------------------------------------------------------------- loading


async def bulk_load(url: str, guild_id: str, shape: LedgerShape) -> float:
    """Load ``shape`` into the registered guild; returns the seconds it took."""
    started = time.perf_counter()
    if make_url(url).get_backend_name() == "sqlite":
        await asyncio.to_thread(_load_sqlite, str(make_url(url).database), guild_id, shape)
    else:
        await _load_postgres(url, guild_id, shape)
    return time.perf_counter() - started


_STATE = (
    "SELECT (SELECT id FROM accounts WHERE guild_id = {g} AND user_id = 'mint'), "
    "(SELECT balance FROM accounts WHERE guild_id = {g} AND user_id = 'mint'), "
    "(SELECT coalesce(max(id), 0) FROM accounts), "
    "(SELECT coalesce(max(id), 0) FROM ledger_transactions), "
    "(SELECT coalesce(max(id), 0) FROM ledger_entries)"
)


def _plan(state: Sequence[int], guild_id: str, shape: LedgerShape) -> _Rows:
    mint_id, mint_balance, accounts, transactions, entries = state
    return _rows(
        guild_id, shape, (mint_id, mint_balance), (accounts + 1, transactions + 1, entries + 1)
    )


async def _load_postgres(url: str, guild_id: str, shape: LedgerShape) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        state = await connection.fetchrow(_STATE.format(g="$1"), guild_id)
        assert state is not None
        rows = _plan(tuple(state), guild_id, shape)
        async with connection.transaction():
            # Triggers (the deferred zero-sum checks, foreign keys) off for the load only.
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.copy_records_to_table(
                "accounts", records=rows.accounts(), columns=ACCOUNT_COLUMNS
            )
            await connection.copy_records_to_table(
                "ledger_transactions", records=rows.transactions, columns=TRANSACTION_COLUMNS
            )
            await connection.copy_records_to_table(
                "ledger_entries", records=rows.entries, columns=ENTRY_COLUMNS
            )
            await connection.execute(_PG_MINT, rows.mint_delta, guild_id)
            await connection.execute(_PG_SEQUENCES)
        await connection.execute("VACUUM (ANALYZE) accounts, ledger_transactions, ledger_entries")
    finally:
        await connection.close()


_PG_MINT = "UPDATE accounts SET balance = balance + $1 WHERE guild_id = $2 AND user_id = 'mint'"
_PG_SEQUENCES = """
SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT max(id) FROM accounts)),
       setval(pg_get_serial_sequence('ledger_transactions', 'id'),
              (SELECT max(id) FROM ledger_transactions)),
       setval(pg_get_serial_sequence('ledger_entries', 'id'), (SELECT max(id) FROM ledger_entries))
"""
_SQLITE_ACCOUNTS = (
    "INSERT INTO accounts (id, guild_id, user_id, balance, total_received, total_sent, "
    "created_at, updated_at, is_system, streak_count, is_active) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 1)"
)
_SQLITE_TRANSACTIONS = (
    "INSERT INTO ledger_transactions (id, guild_id, type, amount, reason, actor_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_ENTRIES = (
    "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, balance_before, "
    "balance_after) VALUES (?, ?, ?, ?, ?, ?)"
)
_SQLITE_MINT = "UPDATE accounts SET balance = balance + ? WHERE guild_id = ? AND user_id = 'mint'"
# How SQLAlchemy stores a DateTime on SQLite.
_SQLITE_AT = LOADED_AT.strftime("%Y-%m-%d %H:%M:%S.%f")


def _load_sqlite(path: str, guild_id: str, shape: LedgerShape) -> None:
    connection = sqlite3.connect(path)
    try:
        state = connection.execute(_STATE.format(g="?"), (guild_id, guild_id)).fetchone()
        rows = _plan(tuple(state), guild_id, shape)
        with connection:
            connection.executemany(
                _SQLITE_ACCOUNTS, ((*row[:6], _SQLITE_AT, _SQLITE_AT) for row in rows.accounts())
            )
            connection.executemany(
                _SQLITE_TRANSACTIONS, ((*row[:6], _SQLITE_AT) for row in rows.transactions)
            )
            connection.executemany(_SQLITE_ENTRIES, rows.entries)
            connection.execute(_SQLITE_MINT, (rows.mint_delta, guild_id))
        connection.execute("ANALYZE")
    finally:
        connection.close()
