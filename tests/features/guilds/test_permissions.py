"""The one order of permission levels the bot, the API and the dashboard share."""

from __future__ import annotations

import pytest

from guildbank.features.guilds.permissions import Level, level_of

ADMINS, MODS = ["1"], ["2"]


@pytest.mark.parametrize(
    ("is_owner", "manages", "roles", "expected"),
    [
        (True, False, [], Level.OWNER),
        (False, True, [], Level.ADMIN),
        (False, False, ["1"], Level.ADMIN),
        (False, False, ["2", "1"], Level.ADMIN),  # the higher level wins
        (False, False, ["2"], Level.MODERATOR),
        (False, False, ["3"], Level.MEMBER),
        (False, False, [], Level.MEMBER),
    ],
)
def test_levels(is_owner: bool, manages: bool, roles: list[str], expected: Level) -> None:
    found = level_of(
        is_owner=is_owner,
        manages_server=manages,
        role_ids=roles,
        admin_roles=ADMINS,
        moderator_roles=MODS,
    )
    assert found == expected


def test_levels_are_ordered() -> None:
    assert Level.MEMBER < Level.MODERATOR < Level.ADMIN < Level.OWNER
    assert Level.MODERATOR.label == "moderator"
