"""Where the seed bot's files come from: a data folder on disk (``DIR/<guild_id>/*.json``) or
a dashboard upload (a zip, or the JSON files themselves)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from guildbank.core.ids import is_snowflake
from guildbank.features.imports.errors import NothingToImport
from guildbank.features.imports.schemas import FILES

__all__ = ["MAX_FILE_BYTES", "GuildFiles", "read_folder", "read_upload"]

# The largest file (or all files of an upload) read: far above a real bot's data.
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GuildFiles:
    """One guild's files by name (any of ``schemas.FILES``), and where they came from."""

    guild_id: str
    files: dict[str, bytes]
    source: str


def _read_dir(folder: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for name in FILES:
        path = folder / name
        if path.is_file():
            if path.stat().st_size > MAX_FILE_BYTES:
                msg = f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB"
                raise NothingToImport(msg)
            found[name] = path.read_bytes()
    return found


def read_folder(path: Path, *, guild: str | None = None) -> tuple[list[GuildFiles], list[str]]:
    """The guild folders under ``path`` (or ``path`` itself holding the files, with ``guild``),
    and notes on folders left out."""
    if not path.is_dir():
        msg = f"{path} is not a folder"
        raise NothingToImport(msg)
    if guild is not None and not is_snowflake(guild):
        msg = f"--guild {guild!r} is not a Discord server id"
        raise NothingToImport(msg)
    notes: list[str] = []
    here = _read_dir(path)
    if here:
        name = guild or path.name
        if not is_snowflake(name):
            msg = f"{path} holds the files of one server: name it with --guild ID"
            raise NothingToImport(msg)
        return [GuildFiles(name, here, str(path))], notes
    found: list[GuildFiles] = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        if guild is not None and folder.name != guild:
            continue
        if not is_snowflake(folder.name):
            notes.append(f"{folder.name}/: the folder name is not a server id; left out")
            continue
        files = _read_dir(folder)
        if not files:
            notes.append(f"{folder.name}/: none of {', '.join(FILES)}; left out")
            continue
        found.append(GuildFiles(folder.name, files, str(folder)))
    if not found:
        wanted = f"a folder {guild}/" if guild else "folders named by server id"
        msg = f"{path} holds no seed-bot data ({wanted} with {', '.join(FILES)})"
        raise NothingToImport(msg)
    return found, notes


def _from_zip(guild_id: str, name: str, raw: bytes, files: dict[str, bytes]) -> None:
    """The guild's files of a zip: at its root, or in a ``<guild_id>/`` folder (any depth)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        msg = f"{name} is not a zip file"
        raise NothingToImport(msg) from None
    total = 0
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if not parts or parts[-1] not in FILES:
                continue
            folders = parts[:-1]
            if any(is_snowflake(p) and p != guild_id for p in folders):
                continue  # another server's folder
            total += info.file_size
            if total > MAX_FILE_BYTES:
                msg = f"{name} unpacks to more than {MAX_FILE_BYTES // 2**20} MiB"
                raise NothingToImport(msg)
            files[parts[-1]] = archive.read(info)


def read_upload(guild_id: str, uploads: Sequence[tuple[str, bytes]]) -> GuildFiles:
    """One guild's files from uploaded ``(file name, bytes)``: zips and/or the JSON files."""
    files: dict[str, bytes] = {}
    names: list[str] = []
    for name, raw in uploads:
        base = PurePosixPath(name.replace("\\", "/")).name
        names.append(base)
        if base.lower().endswith(".zip"):
            _from_zip(guild_id, base, raw, files)
        elif base in FILES:
            files[base] = raw
        else:
            msg = f"{base}: upload a zip or the files {', '.join(FILES)}"
            raise NothingToImport(msg)
    if not files:
        msg = f"The upload holds none of {', '.join(FILES)} for this server"
        raise NothingToImport(msg)
    return GuildFiles(guild_id, files, "upload: " + ", ".join(names))
