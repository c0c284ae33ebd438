"""What the economy announces: rewards, transfers, admin corrections, members leaving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = [
    "BalanceAdjusted",
    "DailyClaimed",
    "MemberActiveChanged",
    "TransactionReversed",
    "TransferMade",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyClaimed(DomainEvent):
    name: ClassVar[str] = "daily.claimed"
    user_id: str
    amount: int
    streak: int
    balance: int
    roles_earned: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferMade(DomainEvent):
    name: ClassVar[str] = "transfer"
    transaction_id: int
    giver_id: str
    receiver_id: str
    amount: int
    reason: str | None
    giver_balance: int
    receiver_balance: int
    roles_earned: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceAdjusted(DomainEvent):
    name: ClassVar[str] = "balance.adjusted"
    user_id: str
    delta: int
    balance: int
    reason: str
    actor_id: str | None
    transaction_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionReversed(DomainEvent):
    name: ClassVar[str] = "transaction.reversed"
    transaction_id: int
    reversal_id: int
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberActiveChanged(DomainEvent):
    """A member left (inactive: hidden from leaderboards) or came back."""

    name: ClassVar[str] = "member.active_changed"
    user_id: str
    active: bool
