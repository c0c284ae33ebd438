"""What the archive announces: history moved out of the hot tables (admin log, stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["LedgerArchived"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerArchived(DomainEvent):
    name: ClassVar[str] = "ledger.archived"
    archive_id: int
    cutoff: str
    first_transaction_id: int
    last_transaction_id: int
    transactions: int
    entries: int
    actor_id: str | None
