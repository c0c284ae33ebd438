"""What the ledger kernel announces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["AccountOpened"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(DomainEvent):
    """A member appeared for the first time and received the starting balance."""

    name: ClassVar[str] = "account.opened"
    user_id: str
    balance: int
