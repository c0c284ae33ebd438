"""What the members tools announce: departed members cleaned up, an economy reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["EconomyReset", "MembersCleanedUp"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MembersCleanedUp(DomainEvent):
    """Members gone at least ``days`` days had their balances returned to the mint."""

    name: ClassVar[str] = "members.cleaned_up"
    days: int
    members: int
    amount: int
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EconomyReset(DomainEvent):
    """Every member's balance went back to the mint and every streak was cleared."""

    name: ClassVar[str] = "economy.reset"
    members: int
    amount: int
    streaks_cleared: int
    actor_id: str | None
