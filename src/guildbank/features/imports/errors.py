"""What the importer refuses: a file it cannot read as the seed layout says."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, InvalidInput

__all__ = ["ImportConflict", "ImportFileError", "NothingToImport"]


class ImportFileError(InvalidInput):
    """A file that is no JSON, or whose shape is not the layout's: nothing is imported."""

    code: ClassVar[str] = "import_file_invalid"

    def __init__(self, *, file: str, path: str, message: str) -> None:
        super().__init__(f"{file}: {path}: {message}", code=self.code, file=file, path=path)
        self.file = file
        self.path = path


class NothingToImport(InvalidInput):
    """No guild folder (or no file of the layout) where the import looked."""

    code: ClassVar[str] = "nothing_to_import"

    def __init__(self, message: str) -> None:
        super().__init__(message, code=self.code)


class ImportConflict(GuildbankError):
    """Another import of the same files into the same guild committed first."""

    code: ClassVar[str] = "import_in_progress"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, guild_id: str) -> None:
        super().__init__(
            f"These files are being imported into {guild_id} by another run; try again.",
            guild_id=guild_id,
        )
