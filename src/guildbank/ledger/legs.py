"""Ledger legs: the pure half of double-entry posting.

A ledger transaction moves money between accounts as a set of legs whose amounts sum to
zero. Member accounts also keep running totals (received / sent) that role rewards and
profiles read; a leg says how it changes them, so reversals can undo exactly what the
original did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guildbank.core.limits import MAX_AMOUNT
from guildbank.ledger.errors import AmountOutOfRange
from guildbank.ledger.types import TransactionType

__all__ = ["COUNTED_TYPES", "Leg", "check_balanced", "reversal_legs", "transfer_legs"]

# Movements that count toward a member's total_received / total_sent (and so role rewards).
COUNTED_TYPES = frozenset({TransactionType.TRANSFER, TransactionType.DAILY})


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    amount: int
    received: int = 0
    sent: int = 0


def check_balanced(legs: Sequence[Leg]) -> None:
    """Refuse a posting that would create or destroy money (programming error, not user error),
    or move more than ``MAX_AMOUNT`` (AmountOutOfRange: settings or a caller's arithmetic can
    produce one; refused before any SQL, so no driver ever sees an integer beyond 64 bits)."""
    if len(legs) < 2:
        msg = "a ledger transaction needs at least two legs"
        raise ValueError(msg)
    if sum(leg.amount for leg in legs) != 0:
        msg = f"ledger legs must sum to zero, got {[leg.amount for leg in legs]}"
        raise ValueError(msg)
    if len({leg.account_id for leg in legs}) != len(legs):
        msg = "each account appears at most once in a ledger transaction"
        raise ValueError(msg)
    moved = sum(leg.amount for leg in legs if leg.amount > 0)
    if moved > MAX_AMOUNT:
        raise AmountOutOfRange(moved)


def transfer_legs(*, source: int, target: int, amount: int, counts: bool = True) -> list[Leg]:
    """Legs moving ``amount`` from ``source`` to ``target``; ``counts`` updates the totals."""
    return [
        Leg(source, -amount, sent=amount if counts else 0),
        Leg(target, amount, received=amount if counts else 0),
    ]


def reversal_legs(original_type: TransactionType, entries: Sequence[tuple[int, int]]) -> list[Leg]:
    """Legs undoing a transaction's ``(account_id, amount)`` entries, totals included."""
    counted = original_type in COUNTED_TYPES
    return [
        Leg(
            account_id,
            -amount,
            received=-amount if counted and amount > 0 else 0,
            sent=amount if counted and amount < 0 else 0,
        )
        for account_id, amount in entries
    ]
