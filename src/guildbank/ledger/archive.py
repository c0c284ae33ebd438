"""Archiving a guild's oldest ledger history: out of the hot tables, into a file, exactly.

What moves
----------
An archive takes the guild's transactions created before a cut-off, with their entries, out
of ``ledger_transactions`` and ``ledger_entries`` into one gzip file of JSON lines, and
leaves per account a checkpoint (``ledger_checkpoints``): the balance after its last
archived entry and the money its archived entries moved in and out. Account rows (cached
balances, totals, streaks) are not touched, so no balance changes and nothing waits on the
members' rows. The integrity check (``ledger/integrity.py``) stays exact: an account's
balance is its checkpoint plus its remaining entries, whose chain starts at the checkpoint.

Which transactions
------------------
The archived set is always a prefix of the guild's transactions by id: every transaction up
to ``last``, where ``last`` is the last one before the first transaction created at or
after the cut-off. Three more rules may move ``last`` down (never up):

* each account's archived entries must be a prefix of its own entries (the chain order is
  entry id order, and two concurrent postings can take their transaction ids in one order
  and lock a shared account in the other), so ``last`` drops below any transaction that
  has an entry after one of a kept transaction on the same account;
* the newest transaction of the whole database is never archived: SQLite gives the id of a
  deleted last row (and its entries') out again, which would reuse archived ids;
* nothing kept may point at an archived transaction. That is refused rather than worked
  around (``ArchiveWouldSplit``, 409, nothing changed): a kept reversal of an archived
  transaction (``reverses_id``, a foreign key), a shop purchase archived but refunded by a
  kept transaction, an Idempotency-Key record older than the cut-off (its stored response
  names a transaction that would be gone; records are purged after their retention, so the
  refusal ends by itself). References from finished records (a task's reward, a purchase's
  payment, events in the log) are history: they keep the id, which the archive file holds.
  Once archived, a transaction can no longer be reversed (or its purchase refunded): it is
  "not found" in the ledger.

Crash safety
------------
One unit of work (one database transaction), in this order:

1. lock the guild's archiving (a transaction-scoped advisory lock on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` already serialises writers), find the set, refuse a split;
2. delete the files of the guild's directory that no archive row names (left by an earlier
   run that failed between its file and its commit; see below why that is safe);
3. write the file as ``<name>.partial``, flush, fsync, rename it to its final name (derived
   from the guild and the transaction range, so a rerun of the same range replaces it),
   fsync the directory, then read it back and compare its SHA-256 and line count;
4. only then, still in the same database transaction: register the file
   (``ledger_archives``), write the checkpoints, delete the entries and the transactions,
   checking that exactly the rows written to the file were deleted; the caller commits.

A crash (or any error) before the commit rolls the database back: every row is still in the
hot tables, and the file is an unregistered leftover holding nothing the database lacks. A
crash after the commit leaves the file durable (it was fsynced before) and registered. So a
row leaves the hot tables only in the commit that registers a durable file holding it: no
history is lost, and no transaction is ever in two registered files or in the tables and a
registered file at once. A rerun finds the prefix already gone (nothing before the cut-off:
``transactions == 0``, no file) or archives what is left, from the transaction after the last
archived one: it never duplicates. Leftover files are removed by the next run of the guild,
under its lock: no other run can be between its file and its commit then.

On PostgreSQL, deleting entries fires the deferred per-entry zero-sum trigger of migrations
0002/0004 once per entry at commit; it sums what is left of the entry's transaction, which is
nothing (all of a transaction's entries go together), so it passes. The per-transaction
trigger fires on INSERT only. A reversal and its original archived together are deleted
newest first (descending id chunks), so the ``reverses_id`` foreign key never sees an
orphan; a reversal of an archived transaction committed meanwhile by another connection makes
the delete fail and the whole archive roll back (``ArchiveWouldSplit``).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar, cast

import orjson
from sqlalchemy import ColumnElement, and_, delete, func, insert, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import ErrorKind, GuildbankError
from guildbank.platform.clock import as_utc
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.models.archive import LedgerArchive, LedgerCheckpoint
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.models.shop import ShopPurchase
from guildbank.platform.uow import UnitOfWork

__all__ = [
    "FORMAT",
    "ArchiveResult",
    "ArchiveWouldSplit",
    "archive_file",
    "archive_ledger",
    "read_archive",
]

FORMAT = "guildbank-ledger-archive"
VERSION = 1
# Transactions read per round trip while writing the file; ids per DELETE statement.
BATCH = 1000
DELETE_CHUNK = 500
# Offending rows named in a refusal.
SAMPLE = 10
FILE_PATTERN = re.compile(r"^ledger-\d{20}-\d{20}\.jsonl\.gz(\.partial)?$")


class ArchiveWouldSplit(GuildbankError):
    """Archiving up to the cut-off would leave kept rows pointing at archived transactions."""

    code: ClassVar[str] = "archive_would_split"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(
            "The archive would split history: " + "; ".join(reasons) + ". Nothing was archived.",
            reasons=list(reasons),
        )


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What an archive moved (or, ``dry_run``, would move); ``transactions == 0``: nothing
    was before the cut-off, no file was written."""

    guild_id: str
    cutoff: datetime
    dry_run: bool
    transactions: int = 0
    entries: int = 0
    accounts: int = 0
    first_transaction_id: int | None = None
    last_transaction_id: int | None = None
    archive_id: int | None = None
    file_name: str | None = None
    size_bytes: int = 0
    sha256: str | None = None


@dataclass(slots=True)
class _Account:
    """An account's archived entries, as they stream into the file."""

    user_id: str
    is_system: bool
    opening: int
    closing: int = 0
    received: int = 0
    sent: int = 0
    entries: int = 0
    last_entry_id: int = 0


@dataclass(slots=True)
class _Written:
    accounts: dict[int, _Account] = field(default_factory=dict)
    transaction_ids: array[int] = field(default_factory=lambda: array("q"))
    entries: int = 0
    size_bytes: int = 0
    sha256: str = ""


def archive_file(guild_id: str, first: int, last: int) -> str:
    """The file's name relative to the archive directory: one folder per guild, named by the
    transaction range (a rerun of the same range writes the same name)."""
    return f"{guild_id}/ledger-{first:020d}-{last:020d}.jsonl.gz"


async def archive_ledger(
    uow: UnitOfWork,
    *,
    guild_id: str,
    cutoff: datetime,
    directory: Path,
    actor_id: str | None = None,
    dry_run: bool = False,
) -> ArchiveResult:
    """Archive the guild's transactions created before ``cutoff`` into ``directory`` (see
    the module's docstring for what, in which order, and why a crash loses nothing). The
    caller commits; ``dry_run`` only finds and checks the set. Raises ``ArchiveWouldSplit``.
    """
    cutoff = as_utc(cutoff)
    await _lock(uow, guild_id)
    last = await _last_archivable(uow, guild_id, cutoff)
    if last is None:
        return ArchiveResult(guild_id=guild_id, cutoff=cutoff, dry_run=dry_run)
    await _refuse_split(uow, guild_id, cutoff, last)
    first, count, entries, accounts = await _extent(uow, guild_id, cutoff, last)
    if dry_run:
        return ArchiveResult(
            guild_id=guild_id,
            cutoff=cutoff,
            dry_run=True,
            transactions=count,
            entries=entries,
            accounts=accounts,
            first_transaction_id=first,
            last_transaction_id=last,
        )
    name = archive_file(guild_id, first, last)
    await _remove_leftovers(uow, guild_id, directory)
    opening = await _checkpoints(uow, guild_id)
    written = await _write(uow, guild_id, cutoff, first, last, directory / name, opening)
    if len(written.transaction_ids) != count or written.entries != entries:
        # Only a posting stamped before the cut-off yet committed while this ran can do it.
        raise ArchiveWouldSplit(
            ["the ledger before the cut-off changed while archiving; try again"]
        )
    archive_id = await _register(uow, guild_id, cutoff, first, last, name, written, actor_id)
    await _store_checkpoints(uow, guild_id, cutoff, archive_id, written, opening)
    await _delete(uow, guild_id, written)
    return ArchiveResult(
        guild_id=guild_id,
        cutoff=cutoff,
        dry_run=False,
        transactions=count,
        entries=written.entries,
        accounts=len(written.accounts),
        first_transaction_id=first,
        last_transaction_id=last,
        archive_id=archive_id,
        file_name=name,
        size_bytes=written.size_bytes,
        sha256=written.sha256,
    )


def read_archive(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of an archive file, decoded: a ``header``, one ``transaction`` per archived
    transaction (its entries inside, id order), one ``account`` per account (opening and
    closing balance, archived credits and debits), a ``footer`` with the counts."""
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


# --- finding the set ------------------------------------------------------------------------


async def _lock(uow: UnitOfWork, guild_id: str) -> None:
    """One archive of a guild at a time (SQLite: the write transaction already is)."""
    if uow.services.dialect == "postgresql":
        await uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"guildbank:ledger-archive:{guild_id}"},
        )
    else:
        # Take SQLite's write lock now (BEGIN IMMEDIATE on the unit's first statement).
        await uow.session.execute(select(1))


async def _scalar(uow: UnitOfWork, query: Any) -> Any:
    return (await uow.session.execute(query)).scalar_one_or_none()


async def _last_archivable(uow: UnitOfWork, guild_id: str, cutoff: datetime) -> int | None:
    """The last transaction id of the archivable prefix, or None when there is none."""
    mine = LedgerTransaction.guild_id == guild_id
    first_new = await _scalar(
        uow,
        select(func.min(LedgerTransaction.id)).where(mine, LedgerTransaction.created_at >= cutoff),
    )
    below = select(func.max(LedgerTransaction.id)).where(mine)
    if first_new is not None:
        below = below.where(LedgerTransaction.id < first_new)
    last: int | None = await _scalar(uow, below)
    newest = await _scalar(uow, select(func.max(LedgerTransaction.id)))
    if last is not None and last == newest:
        # The newest transaction of the database stays: SQLite hands the id of a deleted
        # last row out again (no AUTOINCREMENT), which would reuse archived ids.
        last = await _scalar(
            uow, select(func.max(LedgerTransaction.id)).where(mine, LedgerTransaction.id < last)
        )
    while last is not None:
        out_of_order = await _first_out_of_order(uow, guild_id, last)
        if out_of_order is None:
            return last
        last = await _scalar(
            uow,
            select(func.max(LedgerTransaction.id)).where(mine, LedgerTransaction.id < out_of_order),
        )
    return None


async def _first_out_of_order(uow: UnitOfWork, guild_id: str, last: int) -> int | None:
    """The first transaction up to ``last`` with an entry that follows, on its account, an
    entry of a transaction after ``last`` (None: every account's archived entries come
    first)."""
    kept = (
        select(LedgerEntry.account_id, func.min(LedgerEntry.id).label("first_kept"))
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.guild_id == guild_id, LedgerEntry.transaction_id > last)
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    found: int | None = await _scalar(
        uow,
        select(func.min(LedgerEntry.transaction_id))
        .join(kept, kept.c.account_id == LedgerEntry.account_id)
        .where(LedgerEntry.transaction_id <= last, LedgerEntry.id > kept.c.first_kept),
    )
    return found


async def _refuse_split(uow: UnitOfWork, guild_id: str, cutoff: datetime, last: int) -> None:
    reasons: list[str] = []
    reversals = (
        await uow.session.execute(
            select(LedgerTransaction.id, LedgerTransaction.reverses_id)
            .where(
                LedgerTransaction.guild_id == guild_id,
                LedgerTransaction.id > last,
                LedgerTransaction.reverses_id <= last,
            )
            .order_by(LedgerTransaction.id)
            .limit(SAMPLE)
        )
    ).all()
    if reversals:
        pairs = ", ".join(f"#{new} reverses #{old}" for new, old in reversals)
        reasons.append(f"kept reversals point at transactions before the cut-off ({pairs})")
    refunds = (
        (
            await uow.session.execute(
                select(ShopPurchase.id)
                .where(
                    ShopPurchase.guild_id == guild_id,
                    ShopPurchase.transaction_id <= last,
                    ShopPurchase.refund_transaction_id > last,
                )
                .order_by(ShopPurchase.id)
                .limit(SAMPLE)
            )
        )
        .scalars()
        .all()
    )
    if refunds:
        listed = ", ".join(f"#{p}" for p in refunds)
        reasons.append(f"shop purchases paid before the cut-off were refunded after it ({listed})")
    records = await _scalar(
        uow,
        select(func.count()).where(
            IdempotencyRecord.guild_id == guild_id, IdempotencyRecord.created_at < cutoff
        ),
    )
    if records:
        reasons.append(
            f"{records} Idempotency-Key record(s) older than the cut-off are still kept (their "
            "responses name transactions it would archive; they are purged after the "
            "retention period)"
        )
    if reasons:
        raise ArchiveWouldSplit(reasons)


def _in_prefix(guild_id: str, cutoff: datetime, last: int) -> ColumnElement[bool]:
    """The archived set. ``created_at`` repeats what ``last`` already says of every
    transaction visible when it was found; it keeps out one committed since with a smaller id
    (on PostgreSQL each statement sees what committed before it), which was stamped when it
    began, after the cut-off."""
    return and_(
        LedgerTransaction.guild_id == guild_id,
        LedgerTransaction.id <= last,
        LedgerTransaction.created_at < cutoff,
    )


async def _extent(
    uow: UnitOfWork, guild_id: str, cutoff: datetime, last: int
) -> tuple[int, int, int, int]:
    """The first id, how many transactions, entries and accounts the prefix holds."""
    first, count = (
        await uow.session.execute(
            select(func.min(LedgerTransaction.id), func.count()).where(
                _in_prefix(guild_id, cutoff, last)
            )
        )
    ).one()
    entries, accounts = (
        await uow.session.execute(
            select(func.count(), func.count(func.distinct(LedgerEntry.account_id)))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(_in_prefix(guild_id, cutoff, last))
        )
    ).one()
    return int(first), int(count), int(entries), int(accounts)


# --- the file -------------------------------------------------------------------------------


async def _remove_leftovers(uow: UnitOfWork, guild_id: str, directory: Path) -> None:
    """Delete the guild's archive files no archive row names: left by a run that failed
    between its file and its commit, they hold only rows still in the hot tables."""
    folder = directory / guild_id
    registered = set(
        (
            await uow.session.execute(
                select(LedgerArchive.file_name).where(LedgerArchive.guild_id == guild_id)
            )
        )
        .scalars()
        .all()
    )

    def remove() -> None:
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            if FILE_PATTERN.match(path.name) and f"{guild_id}/{path.name}" not in registered:
                path.unlink(missing_ok=True)

    await asyncio.to_thread(remove)


async def _checkpoints(uow: UnitOfWork, guild_id: str) -> dict[int, LedgerCheckpoint]:
    rows = (
        await uow.session.execute(
            select(LedgerCheckpoint).where(LedgerCheckpoint.guild_id == guild_id)
        )
    ).scalars()
    return {row.account_id: row for row in rows}


class _Hashing:
    """A binary file that hashes and counts what goes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _line(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value) + b"\n"


def _stamp(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).isoformat()


async def _write(
    uow: UnitOfWork,
    guild_id: str,
    cutoff: datetime,
    first: int,
    last: int,
    path: Path,
    opening: dict[int, LedgerCheckpoint],
) -> _Written:
    """Stream the prefix into ``path`` durably (partial file, fsync, rename, fsync of the
    folder, read back): see the module's docstring."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    raw = await asyncio.to_thread(partial.open, "wb")
    written = _Written()
    hashing = _Hashing(raw)
    try:
        packed = gzip.GzipFile(fileobj=cast("IO[bytes]", hashing), mode="wb", mtime=0)
        header = {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "guild_id": guild_id,
            "cutoff": _stamp(cutoff),
            "first_transaction_id": first,
            "last_transaction_id": last,
            "written_at": _stamp(uow.now),
        }
        await asyncio.to_thread(packed.write, _line(header))
        after = 0
        while True:
            chunk = await _transactions(uow, guild_id, cutoff, after, last)
            if not chunk:
                break
            after = chunk[-1]["id"]
            await _add_entries(uow, chunk, written, opening)
            data = b"".join(_line(tx) for tx in chunk)
            await asyncio.to_thread(packed.write, data)
        for line in _account_lines(written):
            await asyncio.to_thread(packed.write, line)
        footer = {
            "kind": "footer",
            "transactions": len(written.transaction_ids),
            "entries": written.entries,
            "accounts": len(written.accounts),
        }
        await asyncio.to_thread(packed.write, _line(footer))
        await asyncio.to_thread(packed.close)
        await asyncio.to_thread(_sync, raw)
    finally:
        raw.close()
    await asyncio.to_thread(_publish, partial, path)
    written.size_bytes = hashing.size
    written.sha256 = hashing.hash.hexdigest()
    await asyncio.to_thread(_verify, path, written)
    return written


async def _transactions(
    uow: UnitOfWork, guild_id: str, cutoff: datetime, after: int, last: int
) -> list[dict[str, Any]]:
    rows = (
        await uow.session.execute(
            select(
                LedgerTransaction.id,
                LedgerTransaction.type,
                LedgerTransaction.amount,
                LedgerTransaction.reason,
                LedgerTransaction.actor_id,
                LedgerTransaction.reverses_id,
                LedgerTransaction.created_at,
            )
            .where(_in_prefix(guild_id, cutoff, last), LedgerTransaction.id > after)
            .order_by(LedgerTransaction.id)
            .limit(BATCH)
        )
    ).all()
    return [
        {
            "kind": "transaction",
            "id": row.id,
            "type": row.type,
            "amount": row.amount,
            "reason": row.reason,
            "actor_id": row.actor_id,
            "reverses_id": row.reverses_id,
            "created_at": _stamp(row.created_at),
            "entries": [],
        }
        for row in rows
    ]


async def _add_entries(
    uow: UnitOfWork,
    chunk: list[dict[str, Any]],
    written: _Written,
    opening: dict[int, LedgerCheckpoint],
) -> None:
    """Attach each transaction's entries, and count them into their accounts."""
    by_id = {tx["id"]: tx for tx in chunk}
    rows = (
        await uow.session.execute(
            select(
                LedgerEntry.id,
                LedgerEntry.transaction_id,
                LedgerEntry.account_id,
                Account.user_id,
                Account.is_system,
                LedgerEntry.amount,
                LedgerEntry.balance_before,
                LedgerEntry.balance_after,
            )
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.transaction_id.in_(list(by_id)))
            .order_by(LedgerEntry.id)
        )
    ).all()
    for row in rows:
        by_id[row.transaction_id]["entries"].append(
            {
                "id": row.id,
                "account_id": row.account_id,
                "user_id": row.user_id,
                "amount": row.amount,
                "balance_before": row.balance_before,
                "balance_after": row.balance_after,
            }
        )
        account = written.accounts.get(row.account_id)
        if account is None:
            previous = opening.get(row.account_id)
            account = written.accounts[row.account_id] = _Account(
                user_id=row.user_id,
                is_system=bool(row.is_system),
                opening=row.balance_before if previous is None else previous.balance,
            )
        if row.id > account.last_entry_id:
            account.last_entry_id = row.id
            account.closing = row.balance_after
        if row.amount > 0:
            account.received += row.amount
        else:
            account.sent -= row.amount
        account.entries += 1
        written.entries += 1
    written.transaction_ids.extend(by_id)


def _account_lines(written: _Written) -> Iterator[bytes]:
    for account_id, account in sorted(written.accounts.items()):
        yield _line(
            {
                "kind": "account",
                "account_id": account_id,
                "user_id": account.user_id,
                "is_system": account.is_system,
                "opening": account.opening,
                "closing": account.closing,
                "received": account.received,
                "sent": account.sent,
                "entries": account.entries,
                "last_entry_id": account.last_entry_id,
            }
        )


def _sync(raw: IO[bytes]) -> None:
    raw.flush()
    os.fsync(raw.fileno())


def _publish(partial: Path, path: Path) -> None:
    """Give the fsynced file its final name, durably (the rename is in the folder)."""
    partial.replace(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _verify(path: Path, written: _Written) -> None:
    """Read the file back: its bytes hash as written and it holds every transaction."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    transactions = sum(1 for line in read_archive(path) if line["kind"] == "transaction")
    if digest.hexdigest() != written.sha256 or transactions != len(written.transaction_ids):
        msg = f"archive file {path} does not read back as written"
        raise OSError(msg)


# --- the database ---------------------------------------------------------------------------


async def _register(
    uow: UnitOfWork,
    guild_id: str,
    cutoff: datetime,
    first: int,
    last: int,
    name: str,
    written: _Written,
    actor_id: str | None,
) -> int:
    archive_id: int = (
        await uow.session.execute(
            insert(LedgerArchive)
            .values(
                guild_id=guild_id,
                cutoff=cutoff,
                first_transaction_id=first,
                last_transaction_id=last,
                transactions=len(written.transaction_ids),
                entries=written.entries,
                accounts=len(written.accounts),
                file_name=name,
                size_bytes=written.size_bytes,
                sha256=written.sha256,
                actor_id=actor_id,
                created_at=uow.now,
            )
            .returning(LedgerArchive.id)
        )
    ).scalar_one()
    return archive_id


async def _store_checkpoints(
    uow: UnitOfWork,
    guild_id: str,
    cutoff: datetime,
    archive_id: int,
    written: _Written,
    opening: dict[int, LedgerCheckpoint],
) -> None:
    """Replace the touched accounts' checkpoints, carrying the totals forward."""
    changed: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for account_id, account in written.accounts.items():
        previous = opening.get(account_id)
        row = {
            "account_id": account_id,
            "archive_id": archive_id,
            "balance": account.closing,
            "received": account.received + (previous.received if previous else 0),
            "sent": account.sent + (previous.sent if previous else 0),
            "entries": account.entries + (previous.entries if previous else 0),
            "last_entry_id": account.last_entry_id,
            "cutoff": cutoff,
        }
        if previous is None:
            new.append({**row, "guild_id": guild_id})
        else:
            changed.append(row)
    # The ORM objects read earlier must not be flushed over these statements.
    for previous in opening.values():
        uow.session.expunge(previous)
    if changed:
        await uow.session.execute(update(LedgerCheckpoint), changed)
    if new:
        await uow.session.execute(insert(LedgerCheckpoint), new)


async def _delete(uow: UnitOfWork, guild_id: str, written: _Written) -> None:
    """Delete exactly the rows written to the file: entries first, then transactions newest
    first (a reversal before its original)."""
    ids = sorted(written.transaction_ids, reverse=True)
    chunks = [ids[i : i + DELETE_CHUNK] for i in range(0, len(ids), DELETE_CHUNK)]
    entries = transactions = 0
    try:
        for chunk in chunks:
            entries += _count(
                await uow.session.execute(
                    delete(LedgerEntry)
                    .where(LedgerEntry.transaction_id.in_(chunk))
                    .execution_options(synchronize_session=False)
                )
            )
            transactions += _count(
                await uow.session.execute(
                    delete(LedgerTransaction)
                    .where(LedgerTransaction.guild_id == guild_id, LedgerTransaction.id.in_(chunk))
                    .execution_options(synchronize_session=False)
                )
            )
    except IntegrityError as error:
        # A reversal (or refund) of an archived transaction committed meanwhile.
        raise ArchiveWouldSplit(
            ["a transaction before the cut-off was reversed while archiving; try again"]
        ) from error
    if entries != written.entries or transactions != len(ids):
        msg = (
            f"archive of guild {guild_id}: deleted {transactions} transactions and {entries} "
            f"entries, but the file holds {len(ids)} and {written.entries}"
        )
        raise RuntimeError(msg)


def _count(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount)
