"""Bounds every amount and reason respects, in the ledger, the API and the dashboard alike.

``MAX_AMOUNT`` is the one bound of money (docs/amounts-and-text.md): every amount a request
names or a setting holds, every amount a posting moves (a daily award included), and every
balance and running total of every account, system accounts included, lies within
``±MAX_AMOUNT``. It is 2**53 - 1, the largest integer a JavaScript client (and a Discord
integer option) represents exactly; two values in range add up far inside 64 bits, so the
database's range check refuses a sum before anything can overflow.
"""

from __future__ import annotations

__all__ = ["MAX_AMOUNT", "MAX_REASON_LENGTH", "within_bounds"]

MAX_REASON_LENGTH = 200
MAX_AMOUNT = 2**53 - 1


def within_bounds(value: int) -> bool:
    """Whether ``value`` may be stored as an amount, a balance or a running total."""
    return -MAX_AMOUNT <= value <= MAX_AMOUNT
