"""Where archive files live: ``GUILDBANK_ARCHIVE_DIR`` once settings has it; until then an
``archives`` folder beside the SQLite database file, or ``./data/archives`` (the default
database's folder) for PostgreSQL. One sub-folder per guild."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from guildbank.features.archive.errors import ArchiveFileMissing
from guildbank.settings import Settings

__all__ = ["archive_directory", "file_of"]


def archive_directory(settings: Settings) -> Path:
    configured = settings.archive_dir
    if configured:
        return Path(configured).resolve()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return (Path(url.database).parent / "archives").resolve()
    return (Path("data") / "archives").resolve()


def file_of(directory: Path, archive_id: int, file_name: str) -> Path:
    """The archive's file inside ``directory`` (refused if the name would leave it, or the
    file is gone)."""
    path = (directory / file_name).resolve()
    if not path.is_relative_to(directory) or not path.is_file():
        raise ArchiveFileMissing(archive_id, file_name)
    return path
