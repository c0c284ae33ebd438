"""The ``guildbank`` command: run the platform and administer it from a shell."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from guildbank.core.errors import GuildbankError
from guildbank.features.guilds.queries import get_config
from guildbank.ledger import integrity
from guildbank.platform import apikeys
from guildbank.platform.logs import configure_logging
from guildbank.platform.migrate import upgrade
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.bot import BotConfigError, check_token
from guildbank.runtime.demo import fill_demo_guild
from guildbank.runtime.runner import run_bot, serve
from guildbank.runtime.services import build_services
from guildbank.settings import Settings

__all__ = ["app"]

app = typer.Typer(
    help="guildbank: a Discord economy platform on a double-entry ledger.", no_args_is_help=True
)
console = Console()
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
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
    settings = _settings()
    upgrade(settings.database_url)
    console.print("Database is at the latest migration.")


def _fail_on_bot_config(error: BotConfigError) -> NoReturn:
    console.print(f"[red]Bot configuration error:[/red] {error}")
    raise typer.Exit(2) from error


def _serve(settings: Settings, *, with_bot: bool) -> None:
    configure_logging(settings.log_level, json=settings.log_json)
    if with_bot:
        try:
            check_token(settings.discord_token.get_secret_value())
        except BotConfigError as error:
            _fail_on_bot_config(error)
    upgrade(settings.database_url)
    bot = "with the Discord bot" if with_bot else "without a bot (no GUILDBANK_DISCORD_TOKEN)"
    console.print(
        f"guildbank is serving on http://{settings.host}:{settings.port} {bot} "
        f"(API docs: http://{settings.host}:{settings.port}/api/docs)"
    )
    if not settings.admin_username and not settings.discord_client_id:
        console.print(
            "Dashboard login is not configured: set GUILDBANK_ADMIN_USERNAME and "
            "GUILDBANK_ADMIN_PASSWORD (or Discord OAuth) in .env to use /admin."
        )
    try:
        asyncio.run(serve(settings, with_bot=with_bot))
    except BotConfigError as error:
        _fail_on_bot_config(error)


@app.command()
def run() -> None:
    """All in one: migrate, then serve the API and dashboard (and the bot when configured)."""
    settings = _settings()
    _serve(settings, with_bot=bool(settings.discord_token.get_secret_value()))


@app.command()
def web() -> None:
    """Serve the web process only (API + dashboard)."""
    _serve(_settings(), with_bot=False)


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
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeatable)")] = None,
) -> None:
    """Create a service API key; the key is printed once, as the last line."""
    scopes = tuple(scope) if scope else apikeys.ALL_SCOPES

    async def work(services: Services) -> str:
        async with unit_of_work(services) as uow:
            principal, token = await apikeys.create_api_key(uow, name=name, scopes=scopes)
            await uow.commit()
        console.print(
            f"Created key #{principal.key_id} '{name}' with scopes "
            f"{', '.join(sorted(principal.scopes))}. Store it now; it is not shown again:"
        )
        return token

    typer.echo(_with_services(work))


@app.command("revoke-api-key")
def revoke_api_key(name: Annotated[str, typer.Argument(help="Key name or prefix")]) -> None:
    """Revoke API keys by name or prefix (running processes forget them within 30 s)."""

    async def work(services: Services) -> int:
        async with unit_of_work(services) as uow:
            count = await apikeys.revoke_api_key(uow, name_or_prefix=name)
            await uow.commit()
        return count

    console.print(f"Revoked {_with_services(work)} key(s).")


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List API keys (names, prefixes, scopes; never the keys themselves)."""

    async def work(services: Services) -> None:
        async with unit_of_work(services, read_only=True) as uow:
            rows = await apikeys.list_api_keys(uow)
        table = Table("id", "name", "prefix", "scopes", "created", "revoked")
        for row in rows:
            table.add_row(
                str(row.id),
                row.name,
                row.prefix,
                ",".join(row.scopes),
                str(row.created_at),
                str(row.revoked_at or ""),
            )
        console.print(table)

    _with_services(work)


@app.command("check-integrity")
def check_integrity(guild: Annotated[str, typer.Argument(help="Guild id")]) -> None:
    """Verify one guild's ledger; exits 1 when anything is wrong."""

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
    """Fill a demo guild with members and history."""
    upgrade(_settings().database_url)
    summary = _with_services(fill_demo_guild)
    console.print(
        f"Demo guild {summary.guild_id}: {summary.members} members, "
        f"{summary.transfers} transfers ({summary.refused} refused by the rules)."
    )
