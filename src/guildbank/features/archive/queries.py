"""Reading the guild's archives and checkpoints."""

from __future__ import annotations

from sqlalchemy import select

from guildbank.features.archive.errors import ArchiveNotFound
from guildbank.features.archive.schemas import ArchiveFileOut
from guildbank.platform.clock import as_utc
from guildbank.platform.models.archive import LedgerArchive
from guildbank.platform.uow import UnitOfWork

__all__ = ["download_url", "get_archive", "list_archives", "to_out"]


def download_url(guild_id: str, archive_id: int) -> str:
    return f"/api/guilds/{guild_id}/transactions/archives/{archive_id}/download"


def to_out(row: LedgerArchive) -> ArchiveFileOut:
    return ArchiveFileOut(
        id=row.id,
        cutoff=as_utc(row.cutoff),
        first_transaction_id=row.first_transaction_id,
        last_transaction_id=row.last_transaction_id,
        transactions=row.transactions,
        entries=row.entries,
        accounts=row.accounts,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        actor_id=row.actor_id,
        created_at=as_utc(row.created_at),
        download_url=download_url(row.guild_id, row.id),
    )


async def list_archives(uow: UnitOfWork, *, guild_id: str) -> list[ArchiveFileOut]:
    """The guild's archives, newest first."""
    rows = (
        await uow.session.execute(
            select(LedgerArchive)
            .where(LedgerArchive.guild_id == guild_id)
            .order_by(LedgerArchive.id.desc())
        )
    ).scalars()
    return [to_out(row) for row in rows]


async def get_archive(uow: UnitOfWork, *, guild_id: str, archive_id: int) -> ArchiveFileOut:
    row = (
        await uow.session.execute(
            select(LedgerArchive).where(
                LedgerArchive.id == archive_id, LedgerArchive.guild_id == guild_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise ArchiveNotFound(archive_id)
    return to_out(row)
