"""``guildbank import``: the CLI side of the importer (progress bar and report)."""

# ruff: noqa: PLC0415

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from guildbank.features.imports.importer import ImportReport
    from guildbank.platform.uow import Services

__all__ = ["print_report", "run_import"]

# Skipped records listed one by one in the terminal; the rest are counted (the whole list is
# in the run's stored report).
SHOWN_SKIPS = 50


def run_import(
    path: Path,
    *,
    guild: str | None,
    console: Console,
    with_services: Callable[[Callable[[Any], Awaitable[Any]]], Any],
) -> bool:
    """Import the seed-bot folder ``path``; True when everything went in (or was there)."""
    from rich.markup import escape

    from guildbank.core.errors import GuildbankError
    from guildbank.features.imports.service import parse_all
    from guildbank.features.imports.sources import read_folder

    try:
        sources, notes = read_folder(path, guild=guild)
    except GuildbankError as error:
        console.print(f"[red]Error:[/red] {escape(error.message)}")
        return False
    for note in notes:
        console.print(f"[yellow]Left out:[/yellow] {escape(note)}")
    with console.status("Checking the files…"):
        parsed, errors = parse_all(sources)
    if errors:
        for refused in errors:
            console.print(f"[red]Error:[/red] {escape(refused.message)}")
        console.print(
            f"[red]Nothing was imported:[/red] {len(errors)} file(s) cannot be read as the "
            "seed layout; fix them and run the import again."
        )
        return False
    reports: list[ImportReport] = with_services(
        lambda services: _import_all(services, parsed, console)
    )
    for report in reports:
        print_report(report, console)
    changed = sum(1 for r in reports if r.changed)
    if changed == 0:
        console.print("[green]Nothing changed:[/green] every server was imported before.")
    return True


async def _import_all(services: Services, parsed: list[Any], console: Console) -> list[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from guildbank.features.imports.service import run_guild, work_of

    reports = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        for guild in parsed:
            task = bar.add_task(f"Server {guild.guild_id}", total=work_of(guild))

            def advance(count: int, task: Any = task) -> None:
                bar.advance(task, count)

            report = await run_guild(services, guild, actor_id="cli", progress=advance)
            bar.update(task, completed=work_of(guild))
            reports.append(report)
    return reports


def print_report(report: ImportReport, console: Console) -> None:
    """The report of one guild's import, as the terminal shows it."""
    from rich.markup import escape
    from rich.table import Table

    if report.already_imported:
        when = report.imported_at.isoformat(timespec="seconds") if report.imported_at else "?"
        console.print(
            f"Server {report.guild_id}: [green]already imported[/green] (run {report.run_id}, "
            f"{when}); nothing changed."
        )
        return
    table = Table(title=f"Server {report.guild_id} imported (run {report.run_id})")
    table.add_column("What")
    table.add_column("Count", justify="right")
    for label, value in (
        ("Files read (bytes)", report.file_bytes),
        ("Members", report.members),
        ("Members already here (kept)", report.members_kept),
        ("Opening balances (total)", report.total),
        ("Shop items", report.items),
        ("Inventory rows", report.inventories),
        ("Tasks", report.tasks),
        ("Task claims", report.claims),
        ("History lines (read-only)", report.history),
        ("Settings applied", len(report.settings)),
        ("Skipped", len(report.skipped)),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    for line in report.skipped[:SHOWN_SKIPS]:
        console.print(f"  [yellow]skipped[/yellow] {escape(line)}", highlight=False)
    if len(report.skipped) > SHOWN_SKIPS:
        console.print(
            f"  … and {len(report.skipped) - SHOWN_SKIPS} more (all in the run's report: "
            f"GET /api/guilds/{report.guild_id}/imports)"
        )
