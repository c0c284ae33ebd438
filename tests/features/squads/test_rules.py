"""Pure squad rules: what a join costs, which refusal wins, how fields are cleaned."""

from __future__ import annotations

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.features.squads.errors import AlreadyInSquad, SquadFull, SquadInactive
from guildbank.features.squads.rules import SquadFields, check_can_join, join_cost, validate_squad


def test_only_the_first_join_is_free() -> None:
    assert join_cost(first_join=True, switch_cost=50) == 0
    assert join_cost(first_join=False, switch_cost=50) == 50


@pytest.mark.parametrize(
    ("is_active", "members", "current", "error"),
    [
        (False, 10, 7, AlreadyInSquad),  # already in it beats closed and full
        (False, 10, None, SquadInactive),  # closed beats full
        (True, 10, None, SquadFull),
        (True, 10, 3, SquadFull),
    ],
)
def test_the_most_useful_refusal_wins(
    is_active: bool, members: int, current: int | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_can_join(
            squad_id=7,
            name="Red",
            is_active=is_active,
            max_members=10,
            members=members,
            current_squad_id=current,
        )


def test_room_left_or_no_cap_admits() -> None:
    for max_members, members in ((10, 9), (None, 10_000)):
        check_can_join(
            squad_id=7,
            name="Red",
            is_active=True,
            max_members=max_members,
            members=members,
            current_squad_id=3,
        )


def test_fields_are_trimmed_and_blank_emoji_is_none() -> None:
    cleaned = validate_squad(SquadFields("123", "  Red  ", " Reds ", "  "))
    assert (cleaned.name, cleaned.description, cleaned.emoji) == ("Red", "Reds", None)
    with pytest.raises(InvalidInput):
        validate_squad(SquadFields("0123", "Red"))
