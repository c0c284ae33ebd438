"""Loading a guild export into a database that does not hold the guild yet.

All or nothing, in one unit of work: the document is checked as a whole first (format,
version, each row's columns and types, every reference, the ledger's arithmetic), then every
row is written with a new id (``tables.py`` says which columns are rewritten), and the ledger
is checked again by the integrity check before the commit. Any problem is an
``ExportFileInvalid`` naming where it is, and the database is left as it was.

The ledger: an account whose exported entries do not add up to its balance (older history
was moved to the archive) first gets an opening transaction of type ``import`` from the mint
for the difference; then the exported transactions follow in their order, with their types,
reasons, actors and times, each entry's ``balance_before`` continuing the account's chain. So
the balances, the chains and the totals come out as they were in the source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, String, Table, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from guildbank.core.ids import is_snowflake
from guildbank.features.backup.dump import guild_exists
from guildbank.features.backup.errors import ExportFileInvalid, GuildAlreadyExists
from guildbank.features.backup.tables import (
    FORMAT,
    IMPORT_RECORD_TABLES,
    LEDGER,
    OUTBOX_KEY_TABLES,
    TABLES,
    VERSION,
    TableSpec,
)
from guildbank.ledger import integrity
from guildbank.ledger.types import TransactionType
from guildbank.platform.models import Base
from guildbank.platform.uow import UnitOfWork

__all__ = ["LoadReport", "load_export", "parse_export"]

OPENING_REASON = "Opening balance from a guild export (history before its first transaction)"
# The item ids inside shop requirements and actions.
SHOP_ITEM_JSON = ("requirements", "purchase_actions", "use_actions")


@dataclass(slots=True)
class LoadReport:
    guild_id: str
    counts: dict[str, int]
    opening_transactions: int = 0
    # What was left out and why (a reference to a row the export does not hold).
    skipped: list[str] = field(default_factory=list)


def parse_export(raw: bytes) -> dict[str, Any]:
    """The export document, its envelope checked (not yet its rows)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ExportFileInvalid(f"not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportFileInvalid(f'not a guildbank guild export (no "format": "{FORMAT}")')
    document = cast("dict[str, Any]", document)
    version = document.get("version")
    if version == 1:
        document = _from_version_1(document)
    elif version != VERSION:
        raise ExportFileInvalid(
            f"export format version {version!r}; this guildbank loads versions 1 to {VERSION}",
            where="version",
        )
    guild_id = document.get("guild_id")
    if not isinstance(guild_id, str) or not is_snowflake(guild_id):
        raise ExportFileInvalid("not a Discord id", where="guild_id")
    tables = document.get("tables")
    counts = document.get("counts")
    if not isinstance(tables, dict) or not isinstance(counts, dict):
        raise ExportFileInvalid('"tables" and "counts" are required (a truncated file?)')
    known = {spec.name for spec in TABLES}
    for name in tables:
        if name not in known:
            raise ExportFileInvalid(
                "unknown table (an export of a newer guildbank?)", where=f"tables.{name}"
            )
    for spec in TABLES:
        rows = tables.get(spec.name)
        if not isinstance(rows, list):
            raise ExportFileInvalid("missing, or not a list", where=f"tables.{spec.name}")
        if counts.get(spec.name) != len(rows):
            raise ExportFileInvalid(
                f"{len(rows)} rows but counts says {counts.get(spec.name)!r} (a damaged file?)",
                where=f"tables.{spec.name}",
            )
    return document


def _from_version_1(document: dict[str, Any]) -> dict[str, Any]:
    """A version-1 export as version 2: each item's ``sales_count`` becomes its sales in
    shard 0 of ``shop_item_sales`` (what migration 0020 does to a database)."""
    tables, counts = document.get("tables"), document.get("counts")
    if not isinstance(tables, dict) or not isinstance(counts, dict):
        return document  # refused by the checks that follow
    sales = []
    items = tables.get("shop_items")
    for row in items if isinstance(items, list) else ():
        if isinstance(row, dict) and "sales_count" in row:
            sold = row.pop("sales_count")
            if sold != 0:
                sales.append({"item_id": row.get("id"), "shard": 0, "sold": sold})
    tables.setdefault("shop_item_sales", sales)
    counts.setdefault("shop_item_sales", len(sales))
    return {**document, "version": VERSION}


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _value(column: Column[Any], value: Any, where: str) -> Any:
    """``value`` as the column stores it, or ExportFileInvalid."""
    if value is None:
        if not column.nullable:
            raise ExportFileInvalid("must not be null", where=where)
        return None
    kind = column.type
    problem = None
    if isinstance(kind, Boolean):
        problem = None if isinstance(value, bool) else "expected true or false"
    elif isinstance(kind, Integer):
        problem = None if _integer(value) else "expected an integer"
    elif isinstance(kind, DateTime | Date):
        parse = _moment if isinstance(kind, DateTime) else date.fromisoformat
        try:
            return parse(value)
        except (TypeError, ValueError):
            problem = "expected an ISO 8601 date" + (" and time" if parse is _moment else "")
    elif isinstance(kind, String):
        if not isinstance(value, str):
            problem = "expected a string"
        elif kind.length is not None and len(value) > kind.length:
            problem = f"longer than {kind.length} characters"
    elif not isinstance(kind, JSON):  # pragma: no cover - no other column type is exported
        problem = f"cannot load a {kind} column"
    if problem is not None:
        raise ExportFileInvalid(problem, where=where)
    return value


@dataclass(frozen=True, slots=True)
class _Entry:
    position: int  # the transaction's index in the load
    account: int  # the new account id
    amount: int
    before: int


class _Loader:
    def __init__(self, uow: UnitOfWork, document: Mapping[str, Any]) -> None:
        self.uow = uow
        self.guild_id: str = document["guild_id"]
        self.exported_at = _value(
            Column("exported_at", DateTime(), nullable=False),
            document.get("exported_at"),
            "exported_at",
        )
        self.tables: Mapping[str, list[Any]] = document["tables"]
        # New ids by table, by exported id.
        self.ids: dict[str, dict[int, int]] = {}
        self.report = LoadReport(self.guild_id, {})

    # -- rows ---------------------------------------------------------------------------

    def _rows(self, spec: TableSpec, extra: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The table's rows, typed, with ``guild_id`` set; ``extra`` keys pass unchecked."""
        table = _table(spec.name)
        allowed = set(extra)
        rows = []
        for index, raw in enumerate(self.tables[spec.name]):
            where = f"tables.{spec.name}[{index}]"
            if not isinstance(raw, dict):
                raise ExportFileInvalid("expected an object", where=where)
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if key in allowed:
                    row[key] = value
                    continue
                if key not in table.c or (key == "guild_id" and spec.name != "guilds"):
                    raise ExportFileInvalid("unknown column", where=f"{where}.{key}")
                row[key] = _value(table.c[key], value, f"{where}.{key}")
            if "guild_id" in table.c:
                row["guild_id"] = self.guild_id
            if spec.name == "guilds" and row.get("id") != self.guild_id:
                raise ExportFileInvalid("is not the export's guild_id", where=f"{where}.id")
            if spec.new_ids and not isinstance(row.get("id"), int):
                raise ExportFileInvalid("an id is required", where=f"{where}.id")
            rows.append(row)
        if spec.name == "guilds" and len(rows) != 1:
            raise ExportFileInvalid("exactly one guild expected", where="tables.guilds")
        return rows

    def _map(self, spec: TableSpec, rows: Sequence[dict[str, Any]], new: Sequence[int]) -> None:
        mapping: dict[int, int] = {}
        for index, (row, new_id) in enumerate(zip(rows, new, strict=True)):
            if row["id"] in mapping:
                raise ExportFileInvalid(
                    f"id {row['id']} appears twice", where=f"tables.{spec.name}[{index}].id"
                )
            mapping[row["id"]] = new_id
        self.ids[spec.name] = mapping

    def _refs(self, spec: TableSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each reference rewritten to the new id; NULL (nullable) or refused when the export
        does not hold the row it names."""
        table = _table(spec.name)
        for index, row in enumerate(rows):
            for column, target in spec.refs.items():
                old = row.get(column)
                if old is None:
                    continue
                new = self.ids[target].get(old)
                if new is None:
                    where = f"tables.{spec.name}[{index}].{column}"
                    if not table.c[column].nullable:
                        raise ExportFileInvalid(f"{target} {old} is not in the export", where=where)
                    self.report.skipped.append(
                        f"{where}: {target} {old} is not in the export (left empty)"
                    )
                row[column] = new
        return rows

    async def _new_ids(self, table: str, count: int) -> list[int]:
        """``count`` fresh ids of ``table``, ascending (the unit's write transaction holds
        SQLite's write lock; PostgreSQL's sequence hands them out)."""
        if count == 0:
            return []
        session = self.uow.session
        if self.uow.services.dialect == "postgresql":
            result = await session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table, "n": count},
            )
            return sorted(int(value) for (value,) in result)
        largest = text(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - ours
        highest = (await session.execute(largest)).scalar_one()
        return list(range(int(highest) + 1, int(highest) + 1 + count))

    async def _insert(self, name: str, rows: Sequence[dict[str, Any]]) -> None:
        """Rows grouped by the columns they carry (a column an older export lacks takes the
        database's default)."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        for group in groups.values():
            await self.uow.session.execute(insert(_table(name)), group)
        self.report.counts[name] = len(rows)

    # -- tables -------------------------------------------------------------------------

    async def load(self) -> LoadReport:
        typed = {spec.name: self._rows(spec, self._extra(spec)) for spec in TABLES}
        for spec in TABLES:
            rows = typed[spec.name]
            if spec.name == "accounts":
                await self._accounts(spec, rows)
            elif spec.name == LEDGER:
                await self._ledger(spec, rows)
            else:
                if spec.new_ids:
                    self._map(spec, rows, await self._new_ids(spec.name, len(rows)))
                    for row in rows:
                        row["id"] = self.ids[spec.name][row["id"]]
                rows = self._refs(spec, rows)
                if spec.name == "shop_items":
                    rows = [self._shop_item(row, index) for index, row in enumerate(rows)]
                if spec.name == "outbox_messages":
                    rows = self._messages(rows)
                if spec.name == "import_records":
                    rows = self._import_records(rows)
                await self._insert(spec.name, rows)
        return self.report

    @staticmethod
    def _extra(spec: TableSpec) -> tuple[str, ...]:
        if spec.name == "accounts":
            return ("opening_balance",)
        if spec.name == LEDGER:
            return ("entries",)
        return ()

    async def _accounts(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        for index, row in enumerate(rows):
            opening = row.pop("opening_balance", 0)
            if not isinstance(opening, int) or isinstance(opening, bool):
                raise ExportFileInvalid(
                    "expected an integer", where=f"tables.accounts[{index}].opening_balance"
                )
            row["_opening"] = opening
        total = sum(row.get("balance", 0) for row in rows)
        if total != 0:
            raise ExportFileInvalid(
                f"the guild's accounts sum to {total}, not 0", where="tables.accounts"
            )
        self._map(spec, rows, await self._new_ids("accounts", len(rows)))
        self.openings = {row["id"]: row.pop("_opening") for row in rows}
        self.balances = {row["id"]: row.get("balance", 0) for row in rows}
        self.mint = next(
            (row["id"] for row in rows if row.get("is_system") and row.get("user_id") == "mint"),
            None,
        )
        for row in rows:
            row["id"] = self.ids["accounts"][row["id"]]
        await self._insert("accounts", rows)

    async def _ledger(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        """Opening transactions, then the exported ones, each entry checked against the
        account's running balance; then their rows, with new ids in the same order."""
        transactions: list[dict[str, Any]] = []
        entries: list[_Entry] = []
        running = self._openings(rows, transactions, entries)
        openings = len(transactions)
        for index, row in enumerate(rows):
            self._replay(index, row, running, len(transactions), entries)
            transactions.append(row)
        for old, balance in self.balances.items():
            if running[old] != balance:
                raise ExportFileInvalid(
                    f"account {old} has balance {balance} but its opening balance and entries "
                    f"come to {running[old]}",
                    where="tables.accounts",
                )
        new_ids = await self._new_ids(LEDGER, len(transactions))
        self._map(spec, transactions[openings:], new_ids[openings:])
        for row, new_id in zip(transactions, new_ids, strict=True):
            row["id"] = new_id
        self._refs(spec, transactions[openings:])
        await self._insert(LEDGER, transactions)
        self.report.counts[LEDGER] = len(rows)
        entry_ids = await self._new_ids("ledger_entries", len(entries))
        await self._insert(
            "ledger_entries",
            [
                {
                    "id": entry_id,
                    "transaction_id": new_ids[entry.position],
                    "account_id": entry.account,
                    "amount": entry.amount,
                    "balance_before": entry.before,
                    "balance_after": entry.before + entry.amount,
                }
                for entry_id, entry in zip(entry_ids, entries, strict=True)
            ],
        )
        self.report.counts["ledger_entries"] = len(entries) - 2 * openings

    def _openings(
        self, rows: list[dict[str, Any]], transactions: list[dict[str, Any]], entries: list[_Entry]
    ) -> dict[int, int]:
        """One ``import`` transaction from the mint per account with an opening balance (at
        the first exported transaction's time); the accounts' balances after them."""
        if sum(self.openings.values()) != 0:
            raise ExportFileInvalid(
                "the accounts' opening balances do not sum to 0", where="tables.accounts"
            )
        opening = [(old, amount) for old, amount in self.openings.items() if amount]
        if not opening:
            return dict(self.openings)
        if self.mint is None:
            raise ExportFileInvalid(
                "opening balances need the mint account", where="tables.accounts"
            )
        accounts = self.ids["accounts"]
        first_at = min((row["created_at"] for row in rows if row.get("created_at")), default=None)
        mint_balance = 0
        for old, amount in opening:
            if old == self.mint:
                continue
            position = len(transactions)
            transactions.append(
                {
                    "guild_id": self.guild_id,
                    "type": TransactionType.IMPORT,
                    "amount": abs(amount),
                    "reason": OPENING_REASON,
                    "actor_id": None,
                    "reverses_id": None,
                    "created_at": first_at or self.exported_at,
                }
            )
            legs = [
                _Entry(position, accounts[self.mint], -amount, mint_balance),
                _Entry(position, accounts[old], amount, 0),
            ]
            entries.extend(sorted(legs, key=lambda entry: entry.account))
            mint_balance -= amount
        self.report.opening_transactions = len(transactions)
        return dict(self.openings)

    def _replay(
        self,
        index: int,
        row: dict[str, Any],
        running: dict[int, int],
        position: int,
        entries: list[_Entry],
    ) -> None:
        """Check one exported transaction's entries against the running balances (updated)
        and queue them."""
        where = f"tables.{LEDGER}[{index}].entries"
        legs = row.pop("entries", None)
        if not isinstance(legs, list) or len(legs) < 2:
            raise ExportFileInvalid("a transaction needs two or more entries", where=where)
        accounts = self.ids["accounts"]
        seen: set[int] = set()
        for number, leg in enumerate(legs):
            at = f"{where}[{number}]"
            values: list[Any] = [
                leg.get(key) if isinstance(leg, dict) else None
                for key in ("account_id", "amount", "balance_before", "balance_after")
            ]
            if not all(_integer(value) for value in values):
                raise ExportFileInvalid(
                    "account_id, amount, balance_before and balance_after must be integers",
                    where=at,
                )
            account, amount, before, after = values
            if account not in accounts or account in seen:
                raise ExportFileInvalid(
                    f"account {account} is not in the export, or twice in the transaction",
                    where=at,
                )
            seen.add(account)
            if amount == 0 or before != running[account] or after != before + amount:
                raise ExportFileInvalid(
                    f"amount {amount}, balance_before {before}, balance_after {after} do not "
                    f"continue account {account}'s balance {running[account]}",
                    where=at,
                )
            running[account] = after
            entries.append(_Entry(position, accounts[account], amount, before))
        total = sum(leg["amount"] for leg in legs)
        if total != 0:
            raise ExportFileInvalid(f"entries sum to {total}, not 0", where=where)

    def _shop_item(self, row: dict[str, Any], index: int) -> dict[str, Any]:
        """The item ids inside requirements and actions rewritten; one naming an item the
        export does not hold is left out (reported)."""
        items = self.ids["shop_items"]
        for key in SHOP_ITEM_JSON:
            value = row.get(key)
            if not isinstance(value, list):
                continue
            kept = []
            for part in value:
                if isinstance(part, dict) and "item_id" in part:
                    new = items.get(part["item_id"]) if isinstance(part["item_id"], int) else None
                    if new is None:
                        self.report.skipped.append(
                            f"tables.shop_items[{index}].{key}: item {part['item_id']!r} is not "
                            "in the export (left out)"
                        )
                        continue
                    kept.append({**part, "item_id": new})
                else:
                    kept.append(part)
            row[key] = kept
        return row

    def _messages(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Message keys naming a row by id (``shop.item:12``) follow the row's new id; the
        message of a row the export does not hold is left out."""
        kept = []
        for row in rows:
            key = str(row.get("key", ""))
            prefix, _, tail = key.rpartition(":")
            table = OUTBOX_KEY_TABLES.get(prefix)
            if table is None and prefix.startswith("dm:task."):
                table = "member_tasks"
            if table is not None and tail.isdigit():
                new = self.ids[table].get(int(tail))
                if new is None:
                    self.report.skipped.append(
                        f"outbox message {key}: its row is not in the export"
                    )
                    continue
                row["key"] = f"{prefix}:{new}"
            kept.append(row)
        return kept

    def _import_records(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each record's ``target_id`` follows the row it names (by ``kind``)."""
        kept = []
        for index, row in enumerate(rows):
            table = IMPORT_RECORD_TABLES.get(str(row.get("kind")))
            new = None if table is None else self.ids[table].get(row.get("target_id", -1))
            if new is None:
                self.report.skipped.append(
                    f"tables.import_records[{index}]: {row.get('kind')} {row.get('target_id')} "
                    "is not in the export"
                )
                continue
            row["target_id"] = new
            kept.append(row)
        return kept


async def load_export(uow: UnitOfWork, document: Mapping[str, Any]) -> LoadReport:
    """Write the export's guild in the unit of work (the caller commits); refused with
    GuildAlreadyExists when the guild is here, ExportFileInvalid for a bad document."""
    guild_id = document["guild_id"]
    if await guild_exists(uow, guild_id):
        raise GuildAlreadyExists(guild_id)
    loader = _Loader(uow, document)
    try:
        report = await loader.load()
        await uow.session.flush()
    except (IntegrityError, DBAPIError) as error:
        await uow.rollback()
        detail = str(getattr(error, "orig", error)).splitlines()[0]
        raise ExportFileInvalid(f"the database refused a row: {detail}") from None
    except ExportFileInvalid:
        await uow.rollback()
        raise
    found = await integrity.check_integrity(uow, guild_id=guild_id)
    if not found.ok:
        await uow.rollback()
        first = found.problems[0]["detail"]
        raise ExportFileInvalid(f"the loaded ledger fails the integrity check: {first}")
    return report
