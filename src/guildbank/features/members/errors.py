"""What the members tools refuse."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import NotFound

__all__ = ["MemberNotFound"]


class MemberNotFound(NotFound):
    code: ClassVar[str] = "member_not_found"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"Member {user_id} has no account in this server", user_id=user_id)
