"""Daily streaks: how a streak grows and which multiplier tier it earns.

The tier table is per guild (``{threshold_days: multiplier}``); the highest threshold not
above the streak applies, so a tier is sustained for as long as the streak lasts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "DEFAULT_STREAK_BONUSES",
    "StreakTier",
    "daily_award",
    "next_streak",
    "tier_for",
]

DEFAULT_STREAK_BONUSES: Mapping[int, int] = {8: 2, 16: 4, 32: 8, 64: 16}
_DEFAULT_TIER_NAMES: Mapping[int, str] = {8: "CHAR", 16: "SHORT", 32: "INT", 64: "LONG"}


@dataclass(frozen=True, slots=True)
class StreakTier:
    name: str
    threshold: int
    multiplier: int


NO_TIER = StreakTier(name="NONE", threshold=0, multiplier=1)


def next_streak(previous_streak: int, last_claim: date | None, today: date) -> int:
    """Streak after claiming ``today``: +1 when the last claim was yesterday, else 1."""
    if last_claim is not None and last_claim == today - timedelta(days=1):
        return previous_streak + 1
    return 1


def tier_for(streak: int, bonuses: Mapping[int, int]) -> StreakTier:
    """The highest tier whose threshold is at most ``streak`` (NONE below every threshold)."""
    reached = [threshold for threshold in bonuses if threshold <= streak]
    if not reached:
        return NO_TIER
    threshold = max(reached)
    name = _DEFAULT_TIER_NAMES.get(threshold, f"{threshold}+ DAYS")
    return StreakTier(name=name, threshold=threshold, multiplier=bonuses[threshold])


def daily_award(daily_amount: int, streak: int, bonuses: Mapping[int, int]) -> int:
    """Bytes paid for a daily claim that brings the streak to ``streak``."""
    return daily_amount * tier_for(streak, bonuses).multiplier
