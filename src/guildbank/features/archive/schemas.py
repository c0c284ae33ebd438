"""The archive's request and response shapes (API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from guildbank.features.archive.rules import MAX_DAYS_TO_KEEP, MIN_DAYS_TO_KEEP

__all__ = ["ArchiveFileOut", "ArchiveIn", "ArchiveOut"]


class ArchiveIn(BaseModel):
    """Seed 002's ``{"days_to_keep": 90, "archive": true}``; ``dry_run`` only says what would
    move (and whether it is refused)."""

    model_config = ConfigDict(extra="forbid")

    days_to_keep: int = Field(ge=MIN_DAYS_TO_KEEP, le=MAX_DAYS_TO_KEEP)
    archive: bool = Field(
        default=True,
        description="Must be true: history older than the cut-off is always archived, "
        "never just deleted.",
    )
    dry_run: bool = False
    actor_id: str | None = Field(default=None, max_length=32)


class ArchiveFileOut(BaseModel):
    """One archive file of the guild: the transactions it holds and how to download it."""

    id: int
    cutoff: datetime
    first_transaction_id: int
    last_transaction_id: int
    transactions: int
    entries: int
    accounts: int
    file_name: str
    size_bytes: int
    sha256: str
    actor_id: str | None
    created_at: datetime
    download_url: str


class ArchiveOut(BaseModel):
    """What an archive moved (``dry_run``: would move). ``transactions`` 0: nothing was
    before the cut-off (a rerun), no file."""

    guild_id: str
    dry_run: bool
    days_to_keep: int
    cutoff: datetime
    transactions: int
    entries: int
    accounts: int
    first_transaction_id: int | None
    last_transaction_id: int | None
    archive: ArchiveFileOut | None
