"""The ``guildbank`` command: run the platform and administer it from a shell.

Each command imports what it needs when it runs (PLC0415 below): hikari, Alembic, SQLAlchemy
and the app cost seconds to import, and ``guildbank --help`` or ``list-api-keys`` need none
of them. ``tests/test_cli_imports.py`` holds that line; ``bench/cli_start.py`` measures it.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from guildbank.core.errors import GuildbankError

if TYPE_CHECKING:
    from guildbank.platform.uow import Services
    from guildbank.runtime.bot import BotConfigError
    from guildbank.settings import Settings

__all__ = ["app"]

app = typer.Typer(
    help="guildbank: a Discord economy platform on a double-entry ledger.", no_args_is_help=True
)
console = Console()
T = TypeVar("T")
# How a self-hoster makes a secret key (printed when production refuses the placeholder).
KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# What each API key scope allows (printed by create-api-key, so nobody guesses).
SCOPE_MEANINGS = {
    "read": "read balances, history, settings",
    "write": "member actions: daily, transfers, squad joins, the bot's reports",
    "admin": "settings, money tools (add/remove/set, reversals), squad administration",
}
DEFAULT_SCOPES = ("read", "write")


def _problems(error: ValueError) -> list[str]:
    """A settings refusal as plain lines (pydantic's own text carries links and types)."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        return [str(error)]
    lines = []
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"GUILDBANK_{field.upper()}: {message}" if field else message)
    return lines


def _settings() -> Settings:
    from guildbank.settings import Settings

    try:
        return Settings()
    except ValueError as error:
        for line in _problems(error):
            console.print(f"[red]Configuration error:[/red] {line}", soft_wrap=True)
        if "GUILDBANK_SECRET_KEY" in str(error):
            console.print(
                f"Make one with: {KEY_RECIPE}\nand put it in .env as GUILDBANK_SECRET_KEY=…",
                soft_wrap=True,
                markup=False,
            )
        raise typer.Exit(2) from error


def _refuse_taken_port(settings: Settings) -> None:
    """One line and exit 1 when the port is already in use, before anything is announced
    (uvicorn would log "serving…" first, then fail with a traceback-like log)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                console.print(
                    f"[red]Cannot listen on {settings.host}:{settings.port}:[/red] "
                    f"{error.strerror}",
                    soft_wrap=True,
                )
                raise typer.Exit(1) from None
            console.print(
                f"[red]Port {settings.port} on {settings.host} is already in use[/red] "
                "(another guildbank?): stop it, or set GUILDBANK_PORT to a free port.",
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    from guildbank.runtime.services import build_services

    settings = _settings()

    async def runner() -> T:
        services = build_services(settings)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(runner())
    except GuildbankError as error:  # a refusal (unknown guild, key, scope): say it, exit 1
        console.print(f"[red]Error:[/red] {error}")
        raise typer.Exit(1) from error


@app.command()
def migrate() -> None:
    """Apply database migrations (the only way the schema is made)."""
    from guildbank.platform.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print("Database is at the latest migration.")


def _fail_on_bot_config(error: BotConfigError) -> NoReturn:
    console.print(f"[red]Bot configuration error:[/red] {error}")
    raise typer.Exit(2) from error


def _migrate_and_announce(settings: Settings, running: str) -> None:
    from guildbank.platform.migrate import upgrade

    upgrade(settings.database_url)
    console.print(
        f"guildbank is serving on http://{settings.host}:{settings.port} {running} "
        f"(API docs: http://{settings.host}:{settings.port}/api/docs)"
    )
    if not settings.admin_username and not settings.discord_client_id:
        console.print(
            "Dashboard login is not configured: set GUILDBANK_ADMIN_USERNAME and "
            "GUILDBANK_ADMIN_PASSWORD (or Discord OAuth) in .env to use /admin."
        )


def _serve_web(settings: Settings, *, workers: int, running: str) -> None:
    from guildbank.platform.logs import configure_logging
    from guildbank.runtime import runner

    _refuse_taken_port(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    _migrate_and_announce(settings, running)
    if workers > 1:
        runner.serve_workers(settings, workers)
    else:
        asyncio.run(runner.serve(settings, with_bot=False))


@app.command()
def run() -> None:
    """All in one: migrate, then serve the API and dashboard (and the bot when configured)."""
    settings = _settings()
    if not settings.discord_token.get_secret_value():
        _serve_web(settings, workers=1, running="without a bot (no GUILDBANK_DISCORD_TOKEN)")
        return
    from guildbank.platform.logs import configure_logging
    from guildbank.runtime import runner
    from guildbank.runtime.bot import BotConfigError, check_token

    _refuse_taken_port(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        check_token(settings.discord_token.get_secret_value())
        _migrate_and_announce(settings, "with the Discord bot")
        asyncio.run(runner.serve(settings, with_bot=True))
    except BotConfigError as error:
        _fail_on_bot_config(error)


@app.command()
def web(
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (uvicorn), each with its own GUILDBANK_DATABASE_CONNECTIONS; "
            "more than 1 needs GUILDBANK_REDIS_URL (docs/scaling.md)",
        ),
    ] = 1,
) -> None:
    """Serve the web process only (API + dashboard)."""
    settings = _settings()
    if workers > 1 and not settings.redis_url:
        console.print(
            "[red]--workers above 1 needs GUILDBANK_REDIS_URL[/red]: worker processes share "
            "events, settings changes and rate limits through Redis (docs/scaling.md)."
        )
        raise typer.Exit(2)
    _serve_web(settings, workers=workers, running="without a bot (the web process)")


def _shards(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as error:
        raise typer.BadParameter("use comma-separated shard numbers, e.g. 0,1") from error


@app.command()
def bot(
    shard_ids: Annotated[
        str | None, typer.Option(help="Shards this process runs, e.g. 0,1")
    ] = None,
    shard_count: Annotated[int | None, typer.Option(help="Total shards across processes")] = None,
) -> None:
    """Run the Discord bot (only the process with shard 0 syncs commands)."""
    from guildbank.platform.logs import configure_logging
    from guildbank.platform.migrate import upgrade
    from guildbank.runtime.bot import BotConfigError, check_token
    from guildbank.runtime.runner import run_bot

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    ids = _shards(shard_ids)
    if (ids is None) != (shard_count is None):
        console.print("[red]--shard-ids and --shard-count go together[/red]")
        raise typer.Exit(2)
    try:
        check_token(settings.discord_token.get_secret_value())
        if not settings.api_url:
            upgrade(settings.database_url)
        asyncio.run(run_bot(settings, shard_ids=ids, shard_count=shard_count))
    except BotConfigError as error:
        _fail_on_bot_config(error)


@app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. 'bot'")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="read, write, admin (repeatable); default: read and write"),
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="Add the admin scope (settings, money tools)")
    ] = False,
    guild: Annotated[
        list[str] | None,
        typer.Option(help="Limit the key to this guild id (repeatable); none: a global key"),
    ] = None,
) -> None:
    """Create a service API key (read + write unless asked; --admin adds admin); the key is
    printed once, as the last line."""
    from guildbank.platform import apikeys
    from guildbank.platform.uow import unit_of_work

    chosen = list(scope) if scope else list(DEFAULT_SCOPES)
    scopes = tuple(dict.fromkeys([*chosen, "admin"] if admin else chosen))

    async def work(services: Services) -> str:
        async with unit_of_work(services) as uow:
            principal, token = await apikeys.create_api_key(
                uow, name=name, scopes=scopes, guild_ids=guild or None
            )
            await uow.commit()
        where = (
            "every guild"
            if principal.guild_ids is None
            else "guild(s) " + ", ".join(sorted(principal.guild_ids))
        )
        console.print(f"Created key #{principal.key_id} '{name}' for {where}, with scopes:")
        for granted in apikeys.ALL_SCOPES:
            if granted in principal.scopes:
                console.print(f"  {granted}: {SCOPE_MEANINGS.get(granted, '')}", soft_wrap=True)
        if "admin" not in principal.scopes:
            console.print("  (no admin scope: pass --admin for settings and money tools)")
        console.print("Store the key now; it is not shown again:")
        return token

    typer.echo(_with_services(work))


@app.command("revoke-api-key")
def revoke_api_key(name: Annotated[str, typer.Argument(help="Key name or prefix")]) -> None:
    """Revoke API keys by name or prefix (running processes forget them within 30 s)."""
    from guildbank.platform import apikeys
    from guildbank.platform.uow import unit_of_work

    async def work(services: Services) -> int:
        async with unit_of_work(services) as uow:
            count = await apikeys.revoke_api_key(uow, name_or_prefix=name)
            await uow.commit()
        return count

    console.print(f"Revoked {_with_services(work)} key(s).")


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List API keys (names, prefixes, scopes; never the keys themselves)."""
    from rich.table import Table

    from guildbank.platform import apikeys
    from guildbank.platform.uow import unit_of_work

    async def work(services: Services) -> None:
        async with unit_of_work(services, read_only=True) as uow:
            rows = await apikeys.list_api_keys(uow)
        table = Table("id", "name", "prefix", "scopes", "guilds", "created", "revoked")
        for row in rows:
            table.add_row(
                str(row.id),
                row.name,
                row.prefix,
                ",".join(row.scopes),
                "all" if row.guild_ids is None else ",".join(row.guild_ids),
                str(row.created_at),
                str(row.revoked_at or ""),
            )
        console.print(table)

    _with_services(work)


@app.command("check-integrity")
def check_integrity(guild: Annotated[str, typer.Argument(help="Guild id")]) -> None:
    """Verify one guild's ledger; exits 1 when anything is wrong."""
    from guildbank.features.guilds.queries import get_config
    from guildbank.ledger import integrity
    from guildbank.platform.uow import unit_of_work

    async def work(services: Services) -> bool:
        async with unit_of_work(services, read_only=True) as uow:
            await get_config(uow, guild)  # GuildNotFound for an unknown guild
            report = await integrity.check_integrity(uow, guild_id=guild)
        console.print(
            f"{report.accounts} accounts, {report.transactions} transactions, "
            f"guild total {report.total}"
        )
        for problem in report.problems:
            console.print(f"[red]{problem['code']}[/red]: {problem['detail']}")
        console.print(
            "[green]ledger is consistent[/green]" if report.ok else "[red]problems found[/red]"
        )
        return report.ok

    if not _with_services(work):
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Fill a demo guild: members, 30 days of history, squads, role rewards (once: a rerun
    leaves an existing demo guild alone)."""
    from guildbank.platform.migrate import upgrade
    from guildbank.runtime.demo import describe, fill_demo_guild

    upgrade(_settings().database_url)
    summary = _with_services(fill_demo_guild)
    console.print(describe(summary), soft_wrap=True)


@app.command("import")
def import_data(
    path: Annotated[
        Path,
        typer.Argument(help="A seed-bot data folder (DIR/<guild_id>/*.json) or a guild export"),
    ],
    guild: Annotated[str | None, typer.Option(help="Import this guild only")] = None,
) -> None:
    """Import a seed-bot data folder or a `guildbank export` file; a rerun changes nothing."""
    from guildbank.features.backup.command import run_import_export
    from guildbank.features.imports.command import run_import
    from guildbank.platform.migrate import upgrade

    upgrade(_settings().database_url)
    if path.is_file():  # a `guildbank export` file (features/backup)
        done = run_import_export(path, console=console, with_services=_with_services)
    else:
        done = run_import(path, guild=guild, console=console, with_services=_with_services)
    if not done:
        raise typer.Exit(1)


@app.command()
def export(
    guild: Annotated[str, typer.Argument(help="Guild id")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Export a whole guild as JSON; `guildbank import FILE` loads it into an empty database."""
    from guildbank.features.backup.command import run_export

    if not run_export(guild, output=output, console=console, with_services=_with_services):
        raise typer.Exit(1)


@app.command()
def backup(path: Annotated[Path, typer.Argument(help="Backup file to write")]) -> None:
    """Copy the SQLite database to PATH, safely while guildbank runs (PostgreSQL: pg_dump)."""
    from guildbank.features.backup.command import run_backup

    if not run_backup(path, settings=_settings(), console=console):
        raise typer.Exit(1)


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="Backup file made by `guildbank backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the database without asking")] = False,
) -> None:
    """Replace the SQLite database with a backup (stop guildbank first)."""
    from guildbank.features.backup.command import run_restore

    if not run_restore(path, settings=_settings(), console=console, assume_yes=yes):
        raise typer.Exit(1)
