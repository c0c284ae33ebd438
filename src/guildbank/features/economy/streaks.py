"""Daily streaks: which multiplier tier a streak earns.

The tier table is per guild (``{threshold_days: multiplier}``); the highest threshold not
above the streak applies, so a tier is sustained for as long as the streak lasts. The streak
itself grows (+1 after yesterday's claim, else back to 1) in the one conditional update that
marks a claim: ``ledger.members.mark_daily_claim``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["NO_TIER", "StreakTier", "tier_for"]

# The tiers of the default table (guilds/rules.py DEFAULT_STREAK_BONUSES) have names.
_DEFAULT_TIER_NAMES: Mapping[int, str] = {8: "CHAR", 16: "SHORT", 32: "INT", 64: "LONG"}


@dataclass(frozen=True, slots=True)
class StreakTier:
    name: str
    threshold: int
    multiplier: int


NO_TIER = StreakTier(name="NONE", threshold=0, multiplier=1)


def tier_for(streak: int, bonuses: Mapping[int, int]) -> StreakTier:
    """The highest tier whose threshold is at most ``streak`` (NONE below every threshold)."""
    reached = [threshold for threshold in bonuses if threshold <= streak]
    if not reached:
        return NO_TIER
    threshold = max(reached)
    name = _DEFAULT_TIER_NAMES.get(threshold, f"{threshold}+ DAYS")
    return StreakTier(name=name, threshold=threshold, multiplier=bonuses[threshold])
