"""``guildbank export``, ``import FILE``, ``backup`` and ``restore``: the CLI side of the
backup feature (``docs/backup.md`` is the guide)."""

# ruff: noqa: PLC0415

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

if TYPE_CHECKING:
    from rich.console import Console

    from guildbank.features.backup.load import LoadReport
    from guildbank.settings import Settings

__all__ = [
    "PG_DUMP_HELP",
    "PG_RESTORE_HELP",
    "run_backup",
    "run_export",
    "run_import_export",
    "run_restore",
]

PG_DUMP_HELP = (
    "guildbank backup copies SQLite databases only. For PostgreSQL use pg_dump, e.g.\n"
    '  pg_dump --format=custom --file=guildbank.dump "$DATABASE"\n'
    "(safe while guildbank runs: it reads one consistent snapshot). See docs/backup.md."
)
PG_RESTORE_HELP = (
    "guildbank restore replaces SQLite databases only. For PostgreSQL stop guildbank, then\n"
    '  pg_restore --clean --if-exists --no-owner --dbname="$DATABASE" guildbank.dump\n'
    "See docs/backup.md."
)


def run_export(
    guild: str,
    *,
    output: Path | None,
    console: Console,
    with_services: Callable[[Callable[[Any], Awaitable[Any]]], Any],
) -> bool:
    """Write the guild's export to ``output`` (stdout when None); True on success."""
    from guildbank.features.backup.dump import export_chunks
    from guildbank.platform.uow import Services, unit_of_work

    partial = None if output is None else output.with_name(f".{output.name}.part")

    async def work(services: Services) -> int:
        written = 0
        async with unit_of_work(services, read_only=True) as uow:
            chunks = export_chunks(uow, guild_id=guild, now=services.clock())
            if partial is None:
                stream = sys.stdout.buffer
                async for chunk in chunks:
                    stream.write(chunk)
                    written += len(chunk)
                stream.flush()
                return written
            partial.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as file:
                async for chunk in chunks:
                    file.write(chunk)
                    written += len(chunk)
        return written

    try:
        written = with_services(work)
        if output is not None and partial is not None:
            partial.replace(output)
            console.print(f"Exported guild {guild} to {escape(str(output))} ({written:,} bytes).")
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    return True


def _report(console: Console, report: LoadReport, path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"Guild {report.guild_id} imported from {escape(str(path))}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.counts.items():
        if count:
            table.add_row(name, f"{count:,}")
    console.print(table)
    if report.opening_transactions:
        console.print(
            f"{report.opening_transactions} opening balance transaction(s) (type import) "
            "stand for the history before the export's first transaction."
        )
    for line in report.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(line)}", soft_wrap=True)
    console.print("[green]ledger is consistent[/green]")


def run_import_export(
    path: Path,
    *,
    console: Console,
    with_services: Callable[[Callable[[Any], Awaitable[Any]]], Any],
) -> bool:
    """Load a `guildbank export` file into this database (``guildbank import FILE``); the
    guild must not be here yet. Nothing changes unless all of it loads."""
    from guildbank.core.errors import GuildbankError
    from guildbank.features.backup.errors import ExportFileInvalid, GuildAlreadyExists
    from guildbank.features.backup.load import load_export, parse_export
    from guildbank.platform.uow import Services, unit_of_work

    try:
        document = parse_export(path.read_bytes())
    except OSError as error:
        console.print(f"[red]Cannot read {escape(str(path))}:[/red] {escape(str(error))}")
        return False
    except ExportFileInvalid as error:
        console.print(
            f"[red]{escape(str(path))}:[/red] {escape(str(error))}. Nothing was imported.",
            soft_wrap=True,
        )
        return False

    async def work(services: Services) -> LoadReport | GuildbankError:
        async with unit_of_work(services) as uow:
            try:
                report = await load_export(uow, document)
            except (ExportFileInvalid, GuildAlreadyExists) as error:
                return error
            await uow.commit()
        return report

    outcome = with_services(work)
    if isinstance(outcome, GuildbankError):
        console.print(
            f"[red]{escape(str(path))}:[/red] {escape(str(outcome))}. Nothing was imported.",
            soft_wrap=True,
        )
        return False
    _report(console, outcome, path)
    return True


def run_backup(path: Path, *, settings: Settings, console: Console) -> bool:
    """Back the SQLite database up to ``path``; True on success."""
    from guildbank.features.backup.errors import BackupRefused
    from guildbank.features.backup.snapshot import backup_sqlite, database_path

    if not settings.is_sqlite:
        console.print(escape(PG_DUMP_HELP), soft_wrap=True)
        return False
    try:
        info = backup_sqlite(database_path(settings.database_url), path)
    except BackupRefused as error:
        console.print(f"[red]Backup refused:[/red] {escape(str(error))}", soft_wrap=True)
        return False
    console.print(
        f"Backed up to {escape(str(path))}: {info.describe()}, integrity ok.", soft_wrap=True
    )
    return True


def _confirmed(console: Console, target: Path, backup: Path, described: str) -> bool:
    from rich.prompt import Confirm

    question = (
        f"Replace the database {escape(str(target))} with {escape(str(backup))} "
        f"({described})? Everything written since that backup is lost"
    )
    try:
        return Confirm.ask(question, console=console, default=False)
    except EOFError:
        return False


def run_restore(path: Path, *, settings: Settings, console: Console, assume_yes: bool) -> bool:
    """Replace the SQLite database with ``path``; True on success."""
    from guildbank.features.backup.errors import BackupRefused
    from guildbank.features.backup.snapshot import (
        database_path,
        exclusive,
        inspect,
        restore_sqlite,
    )

    if not settings.is_sqlite:
        console.print(escape(PG_RESTORE_HELP), soft_wrap=True)
        return False
    try:
        target = database_path(settings.database_url)
        info = inspect(path)
        if target.exists() and target.resolve() == path.resolve():
            raise BackupRefused(f"{path} is the database itself")
        existed = target.exists()
        with exclusive(target) as locked:
            agreed = assume_yes or _confirmed(console, target, path, info.describe())
            if agreed:
                restore_sqlite(path, locked)
        if not agreed:
            if not existed:  # the lock made an empty file: take it away again
                target.unlink(missing_ok=True)
            console.print("Nothing changed.")
            return False
        restored = inspect(target)
    except BackupRefused as error:
        console.print(
            f"[red]Restore refused:[/red] {escape(str(error))}. Nothing changed.", soft_wrap=True
        )
        return False
    console.print(
        f"Restored {escape(str(target))} from {escape(str(path))}: {restored.describe()}."
    )
    if not restored.current:
        console.print("Run `guildbank migrate` (or start guildbank, which migrates) next.")
    return True
