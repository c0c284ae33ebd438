"""What the archive feature refuses (the kernel's ``ArchiveWouldSplit`` is in ledger/archive)."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import NotFound

__all__ = ["ArchiveFileMissing", "ArchiveNotFound"]


class ArchiveNotFound(NotFound):
    code: ClassVar[str] = "archive_not_found"

    def __init__(self, archive_id: int) -> None:
        super().__init__(f"Archive {archive_id} not found", archive_id=archive_id)


class ArchiveFileMissing(NotFound):
    code: ClassVar[str] = "archive_file_missing"

    def __init__(self, archive_id: int, file_name: str) -> None:
        super().__init__(
            f"The file of archive {archive_id} ({file_name}) is missing from the archive "
            "directory: restore it from your backups.",
            archive_id=archive_id,
            file_name=file_name,
        )
