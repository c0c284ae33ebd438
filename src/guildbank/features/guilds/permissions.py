"""Permission levels (SPEC §9): owner > admin > moderator > member, decided the same way by the
bot, the API and the dashboard. Pure: the callers bring what Discord says about the member."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

__all__ = ["Level", "level_of"]


class Level(IntEnum):
    """Ordered: a check for ``MODERATOR`` admits admins and the owner too."""

    MEMBER = 0
    MODERATOR = 1
    ADMIN = 2
    OWNER = 3

    @property
    def label(self) -> str:
        return self.name.lower()


def level_of(
    *,
    is_owner: bool,
    manages_server: bool,
    role_ids: Iterable[str],
    admin_roles: Iterable[str],
    moderator_roles: Iterable[str],
) -> Level:
    """A member's level: the owner; Administrator or Manage Server (``manages_server``) or an
    admin role; a moderator role; else a member."""
    if is_owner:
        return Level.OWNER
    held = {str(r) for r in role_ids}
    if manages_server or not held.isdisjoint(map(str, admin_roles)):
        return Level.ADMIN
    if not held.isdisjoint(map(str, moderator_roles)):
        return Level.MODERATOR
    return Level.MEMBER
