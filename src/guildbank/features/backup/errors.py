"""The backup feature's refusals: a bad export file, a guild already there, a bad backup."""

from __future__ import annotations

from typing import Any, ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError

__all__ = ["BackupRefused", "ExportFileInvalid", "GuildAlreadyExists"]


class ExportFileInvalid(GuildbankError):
    """The file is not a guildbank export this version can load, or its content is
    inconsistent; ``where`` names the place (``tables.accounts[3].balance``)."""

    code: ClassVar[str] = "export_invalid"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, problem: str, *, where: str = "", **fields: Any) -> None:
        message = (
            f"Invalid export file: {where}: {problem}"
            if where
            else f"Invalid export file: {problem}"
        )
        super().__init__(message, where=where, problem=problem, **fields)


class GuildAlreadyExists(GuildbankError):
    """An export loads only into a database that does not hold its guild yet."""

    code: ClassVar[str] = "guild_exists"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, guild_id: str) -> None:
        super().__init__(
            f"Guild {guild_id} already exists in this database: an export loads only into a "
            "database without that guild (nothing was changed)",
            guild_id=guild_id,
        )


class BackupRefused(GuildbankError):
    """A backup or restore that cannot go ahead (wrong backend, file, or a database in use)."""

    code: ClassVar[str] = "backup_refused"
    kind: ClassVar[ErrorKind] = "invalid"
