"""SQLite backup and restore with SQLite's online backup API.

A backup copies the database in one step of the backup API: one read transaction, so the
copy is the database as of one instant even while guildbank keeps writing (WAL: readers and
the writer never wait for each other). It goes to a temporary file next to the target, is
switched to a single-file journal, checked (``PRAGMA integrity_check``, a guildbank schema at
a known migration) and only then renamed into place.

A restore first checks the backup the same way, then takes the target database's exclusive
lock: a running guildbank holds its connections open, so the lock is refused while one does
("in use"); held, it keeps a starting guildbank out until the copy is done. The copy goes
through the backup API into the locked connection, so the target's own WAL and shared-memory
files stay consistent with it.

PostgreSQL has its own tools (pg_dump, pg_restore): ``docs/backup.md``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from guildbank.features.backup.errors import BackupRefused

__all__ = [
    "BackupInfo",
    "backup_sqlite",
    "database_path",
    "exclusive",
    "inspect",
    "known_revisions",
    "restore_sqlite",
]

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    size: int
    revision: str
    guilds: int
    # The newest migration this guildbank knows: a backup at an older one is migrated on start.
    head: str

    @property
    def current(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        migration = "latest" if self.current else f"older than this guildbank's {self.head}"
        return (
            f"{self.size:,} bytes, {self.guilds} guild{'s' * (self.guilds != 1)}, "
            f"migration {self.revision} ({migration})"
        )


def database_path(database_url: str) -> Path:
    """The file of a SQLite database URL; refused for an in-memory one."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupRefused("an in-memory SQLite database has nothing to back up or restore")
    return Path(database)


def known_revisions() -> tuple[set[str], str]:
    """Every migration revision of this guildbank, and the newest."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only backup/restore need it

    from guildbank.platform.migrate import alembic_config  # noqa: PLC0415

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = {revision.revision for revision in script.walk_revisions()}
    head = script.get_current_head()
    assert head is not None
    return revisions, head


def inspect(path: Path) -> BackupInfo:
    """Check that ``path`` is a sound guildbank SQLite database at a migration this guildbank
    knows; BackupRefused saying what is wrong otherwise."""
    if not path.is_file():
        raise BackupRefused(f"{path} does not exist or is not a file")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupRefused(f"{path} is not an SQLite database")
    try:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA query_only = 1")
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupRefused(f"{path} is damaged: {'; '.join(problems[:3])}")
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not {"alembic_version", "guilds", "accounts"} <= tables:
                raise BackupRefused(f"{path} is not a guildbank database")
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            guilds = connection.execute("SELECT count(*) FROM guilds").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{path} is damaged, it cannot be read: {error}") from None
    revisions, head = known_revisions()
    if row is None or row[0] not in revisions:
        revision = None if row is None else row[0]
        raise BackupRefused(
            f"{path} is at migration {revision!r}, which this guildbank does not know "
            "(made by a newer version?)"
        )
    return BackupInfo(path, path.stat().st_size, str(row[0]), int(guilds), head)


def backup_sqlite(source: Path, target: Path) -> BackupInfo:
    """Copy the database ``source`` to the new file ``target``, safely while it is in use."""
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source}")
    if target.exists():
        raise BackupRefused(f"{target} already exists: choose a new name (or delete it first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as origin,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            origin.backup(copy)  # all pages in one step: one read transaction, one instant
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        info = inspect(partial)
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupRefused(f"backup of {source} failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(target, info.size, info.revision, info.guilds, info.head)


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[sqlite3.Connection]:
    """A connection holding ``target``'s exclusive lock until the block ends; BackupRefused
    at once when another connection (a running guildbank) has the database open."""
    target.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(target, timeout=0, isolation_level=None)
    try:
        try:
            connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            connection.execute("COMMIT")  # the lock stays: exclusive locking mode
        except sqlite3.OperationalError as error:
            raise BackupRefused(
                f"{target} is in use ({error}): stop guildbank (and anything else using the "
                "database) before restoring"
            ) from None
        yield connection
    finally:
        connection.close()


def restore_sqlite(backup: Path, locked: sqlite3.Connection) -> None:
    """Copy ``backup`` over the database behind ``locked`` (from ``exclusive``)."""
    try:
        with contextlib.closing(sqlite3.connect(backup)) as origin:
            origin.execute("PRAGMA query_only = 1")
            origin.backup(locked)
    except sqlite3.Error as error:
        raise BackupRefused(f"restore from {backup} failed: {error}") from None
