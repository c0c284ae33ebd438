"""Archiving a guild's old ledger history (the kernel does the moving: ledger/archive.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from guildbank.core.errors import InvalidInput
from guildbank.features.archive.events import LedgerArchived
from guildbank.features.archive.queries import get_archive
from guildbank.features.archive.schemas import ArchiveOut
from guildbank.features.guilds.queries import get_config
from guildbank.ledger.archive import archive_ledger
from guildbank.platform.uow import UnitOfWork

__all__ = ["archive"]


async def archive(
    uow: UnitOfWork,
    *,
    guild_id: str,
    days_to_keep: int,
    directory: Path,
    actor_id: str | None,
    dry_run: bool = False,
    keep_history: bool = True,
) -> ArchiveOut:
    """Move the guild's transactions older than ``days_to_keep`` days into an archive file,
    leaving a checkpoint per account (refused with ``archive_would_split`` when kept rows
    point at them). ``keep_history`` False (seed 002's ``"archive": false``) is refused:
    history is never just deleted."""
    if not keep_history:
        raise InvalidInput(
            "guildbank never deletes ledger history without archiving it: send "
            '"archive": true (or "dry_run": true to preview).',
            code="archive_required",
        )
    await get_config(uow, guild_id)  # an unknown guild is a 404
    cutoff = uow.now - timedelta(days=days_to_keep)
    result = await archive_ledger(
        uow,
        guild_id=guild_id,
        cutoff=cutoff,
        directory=directory,
        actor_id=actor_id,
        dry_run=dry_run,
    )
    stored = None
    if result.archive_id is not None:
        stored = await get_archive(uow, guild_id=guild_id, archive_id=result.archive_id)
        uow.emit(
            LedgerArchived(
                guild_id=guild_id,
                archive_id=result.archive_id,
                cutoff=result.cutoff.isoformat(),
                first_transaction_id=result.first_transaction_id or 0,
                last_transaction_id=result.last_transaction_id or 0,
                transactions=result.transactions,
                entries=result.entries,
                actor_id=actor_id,
            )
        )
    return ArchiveOut(
        guild_id=guild_id,
        dry_run=dry_run,
        days_to_keep=days_to_keep,
        cutoff=result.cutoff,
        transactions=result.transactions,
        entries=result.entries,
        accounts=result.accounts,
        first_transaction_id=result.first_transaction_id,
        last_transaction_id=result.last_transaction_id,
        archive=stored,
    )
