"""Importing seed-bot data: every guild's files validated first, then each guild written in
one unit of work of its own (all of it or nothing of it)."""

from __future__ import annotations

from collections.abc import Sequence

from guildbank.features.imports.errors import ImportFileError
from guildbank.features.imports.importer import ImportReport, Progress, import_guild
from guildbank.features.imports.schemas import ParsedGuild, parse_guild
from guildbank.features.imports.sources import GuildFiles
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["parse_all", "run_guild", "work_of"]


def parse_all(sources: Sequence[GuildFiles]) -> tuple[list[ParsedGuild], list[ImportFileError]]:
    """Every guild's files validated: the parsed guilds, and the files that refuse the import."""
    parsed: list[ParsedGuild] = []
    errors: list[ImportFileError] = []
    for source in sources:
        try:
            parsed.append(parse_guild(source.guild_id, source.files, source=source.source))
        except ImportFileError as error:
            prefix = f"{source.guild_id}/" if source.guild_id not in error.file else ""
            errors.append(
                ImportFileError(file=prefix + error.file, path=error.path, message=_message(error))
            )
    return parsed, errors


def _message(error: ImportFileError) -> str:
    return error.message.removeprefix(f"{error.file}: {error.path}: ")


def work_of(parsed: ParsedGuild) -> int:
    """How many records an import of ``parsed`` writes (the length of its progress bar)."""
    return (
        len(parsed.members)
        + len(parsed.items)
        + len(parsed.tasks)
        + sum(len(claims) for claims in parsed.user_tasks.values())
        + len(parsed.history)
    )


async def run_guild(
    services: Services,
    parsed: ParsedGuild,
    *,
    actor_id: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one guild in its own unit of work: committed whole, or not at all."""
    async with unit_of_work(services) as uow:
        if progress is None:
            report = await import_guild(uow, parsed, actor_id=actor_id)
        else:
            report = await import_guild(uow, parsed, actor_id=actor_id, progress=progress)
        if report.changed:
            await uow.commit()
    return report
