"""Bounds every amount and reason respects, in the ledger, the API and the dashboard alike."""

from __future__ import annotations

__all__ = ["MAX_AMOUNT", "MAX_REASON_LENGTH"]

MAX_REASON_LENGTH = 200
MAX_AMOUNT = 10**12  # far above any sane economy, far below 64-bit overflow
