"""Transfer validation, role thresholds and guild-local days (SPEC §4.2, §4.3, §4.5)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guildbank.core.errors import InvalidInput
from guildbank.core.limits import MAX_REASON_LENGTH
from guildbank.features.economy.rules import roles_crossed, roles_earned, validate_transfer
from guildbank.features.guilds.rules import EconomyConfig, guild_today, seconds_until_next_day

GIVER = "300000000000000001"
RECEIVER = "300000000000000002"

role_tables = st.dictionaries(
    keys=st.from_regex(r"[1-9][0-9]{17}", fullmatch=True),
    values=st.integers(min_value=1, max_value=5000),
    max_size=6,
)
totals = st.integers(min_value=0, max_value=6000)


def test_defaults_match_the_spec() -> None:
    config = EconomyConfig()
    assert config.starting_balance == 100
    assert config.daily_amount == 10
    assert dict(config.streak_bonuses) == {8: 2, 16: 4, 32: 8, 64: 16}
    assert config.max_transfer == 1000
    assert config.transfer_cooldown_hours == 0
    assert config.confirm_threshold == 100
    assert config.timezone == "UTC"
    assert dict(config.role_rewards) == {}


def test_default_tables_are_not_shared_between_configs() -> None:
    first, second = EconomyConfig(), EconomyConfig()
    assert first.streak_bonuses is not second.streak_bonuses


# Reasons are one line of text: no control characters (core.text), anything else goes.
plain_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=200)


@given(amount=st.integers(min_value=1, max_value=1000), reason=plain_text | st.none())
def test_valid_transfers_pass(amount: int, reason: str | None) -> None:
    validate_transfer(
        EconomyConfig(), giver_id=GIVER, receiver_id=RECEIVER, amount=amount, reason=reason
    )


@pytest.mark.parametrize(
    ("receiver", "amount", "reason", "code"),
    [
        (GIVER, 10, None, "self_transfer"),
        (RECEIVER, 0, None, "invalid_amount"),
        (RECEIVER, -5, None, "invalid_amount"),
        (RECEIVER, 1001, None, "amount_over_limit"),
        (RECEIVER, 10, "x" * (MAX_REASON_LENGTH + 1), "reason_too_long"),
        (RECEIVER, 10, "nul\x00", "invalid_text"),
        (RECEIVER, 10, "two\nlines", "invalid_text"),
    ],
)
def test_invalid_transfers_are_refused_with_a_code(
    receiver: str, amount: int, reason: str | None, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_transfer(
            EconomyConfig(), giver_id=GIVER, receiver_id=receiver, amount=amount, reason=reason
        )
    assert caught.value.code == code
    assert caught.value.kind == "invalid"


def test_over_limit_message_names_the_limit_and_the_amount() -> None:
    config = EconomyConfig(max_transfer=250)
    with pytest.raises(InvalidInput) as caught:
        validate_transfer(config, giver_id=GIVER, receiver_id=RECEIVER, amount=251, reason=None)
    assert caught.value.fields == {"max_transfer": 250, "amount": 251}
    assert "250" in caught.value.message
    assert "251" in caught.value.message
    validate_transfer(config, giver_id=GIVER, receiver_id=RECEIVER, amount=250, reason=None)


def test_reason_of_exactly_the_limit_is_accepted() -> None:
    validate_transfer(
        EconomyConfig(), giver_id=GIVER, receiver_id=RECEIVER, amount=1, reason="x" * 200
    )


@given(rewards=role_tables, before=totals, gained=totals)
def test_roles_crossed_are_exactly_the_thresholds_passed(
    rewards: dict[str, int], before: int, gained: int
) -> None:
    after = before + gained
    crossed = roles_crossed(rewards, before, after)
    assert set(crossed) == set(roles_earned(rewards, after)) - set(roles_earned(rewards, before))
    assert [rewards[r] for r in crossed] == sorted(rewards[r] for r in crossed)


@given(rewards=role_tables, start=totals, steps=st.lists(totals, max_size=6))
def test_each_role_is_crossed_once_along_any_path(
    rewards: dict[str, int], start: int, steps: list[int]
) -> None:
    seen: list[str] = []
    total = start
    for step in steps:
        seen += roles_crossed(rewards, total, total + step)
        total += step
    assert sorted(seen) == sorted(
        set(roles_earned(rewards, total)) - set(roles_earned(rewards, start))
    )
    assert len(seen) == len(set(seen))


def test_roles_crossed_and_earned_examples() -> None:
    rewards = {"500000000000000001": 100, "500000000000000002": 50, "500000000000000003": 500}
    assert roles_crossed(rewards, 0, 99) == ["500000000000000002"]
    assert roles_crossed(rewards, 49, 100) == ["500000000000000002", "500000000000000001"]
    assert roles_crossed(rewards, 100, 499) == []
    assert roles_crossed(rewards, 100, 100) == []
    assert roles_earned(rewards, 100) == ["500000000000000001", "500000000000000002"]
    assert roles_earned(rewards, 49) == []


def test_guild_today_follows_the_guild_timezone() -> None:
    late_utc = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)  # 01:00 on the 15th in Kiritimati (+14)
    assert guild_today("UTC", late_utc) == date(2026, 3, 14)
    assert guild_today("Pacific/Kiritimati", late_utc) == date(2026, 3, 15)
    assert guild_today("America/Los_Angeles", datetime(2026, 3, 14, 5, 0, tzinfo=UTC)) == date(
        2026, 3, 13
    )


def test_seconds_until_next_day() -> None:
    assert seconds_until_next_day("UTC", datetime(2026, 3, 14, 23, 0, tzinfo=UTC)) == 3600
    assert seconds_until_next_day(
        "Pacific/Kiritimati", datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    ) == (3600)
    assert seconds_until_next_day("UTC", datetime(2026, 3, 14, 0, 0, tzinfo=UTC)) == 86400
