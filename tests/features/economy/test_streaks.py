"""Streak multiplier tiers (SPEC §4.2): pure rules, checked on arbitrary tables.

How a streak grows is one SQL update (ledger.members.mark_daily_claim): test_daily.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guildbank.features.economy.streaks import NO_TIER, tier_for
from guildbank.features.guilds.rules import DEFAULT_STREAK_BONUSES

tables = st.dictionaries(
    keys=st.integers(min_value=1, max_value=400),
    values=st.integers(min_value=1, max_value=1000),
    max_size=8,
)
streaks = st.integers(min_value=0, max_value=500)


@given(streak=streaks, bonuses=tables)
def test_tier_is_the_highest_threshold_not_above_the_streak(
    streak: int, bonuses: dict[int, int]
) -> None:
    tier = tier_for(streak, bonuses)
    reached = [threshold for threshold in bonuses if threshold <= streak]
    if not reached:
        assert tier == NO_TIER
        assert tier.multiplier == 1
        return
    assert tier.threshold == max(reached)
    assert tier.multiplier == bonuses[max(reached)]
    # No other reached threshold is higher, and any higher one is above the streak.
    assert all(t <= tier.threshold or t > streak for t in bonuses)


@given(streak=st.integers(min_value=1, max_value=499), bonuses=tables)
def test_a_longer_streak_never_drops_to_a_lower_threshold(
    streak: int, bonuses: dict[int, int]
) -> None:
    assert tier_for(streak + 1, bonuses).threshold >= tier_for(streak, bonuses).threshold


@pytest.mark.parametrize(
    ("streak", "name", "threshold", "multiplier"),
    [
        (0, "NONE", 0, 1),
        (1, "NONE", 0, 1),
        (7, "NONE", 0, 1),
        (8, "CHAR", 8, 2),
        (15, "CHAR", 8, 2),
        (16, "SHORT", 16, 4),
        (31, "SHORT", 16, 4),
        (32, "INT", 32, 8),
        (63, "INT", 32, 8),
        (64, "LONG", 64, 16),
        (1000, "LONG", 64, 16),
    ],
)
def test_default_tiers(streak: int, name: str, threshold: int, multiplier: int) -> None:
    tier = tier_for(streak, DEFAULT_STREAK_BONUSES)
    assert (tier.name, tier.threshold, tier.multiplier) == (name, threshold, multiplier)


def test_default_table_matches_the_spec() -> None:
    assert dict(DEFAULT_STREAK_BONUSES) == {8: 2, 16: 4, 32: 8, 64: 16}


def test_custom_table_at_a_hundred_days_multiplies_by_256() -> None:
    assert tier_for(100, {8: 2, 16: 4, 32: 16, 64: 256}).multiplier == 256


def test_custom_threshold_gets_a_descriptive_name() -> None:
    tier = tier_for(10, {7: 3, 14: 5})
    assert (tier.name, tier.threshold, tier.multiplier) == ("7+ DAYS", 7, 3)


def test_empty_table_pays_the_base_amount() -> None:
    assert tier_for(500, {}) == NO_TIER
    assert tier_for(500, {}).multiplier == 1
