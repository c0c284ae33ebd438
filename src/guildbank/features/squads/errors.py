"""What squads refuse."""

from __future__ import annotations

from typing import Any, ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = [
    "AlreadyInSquad",
    "BelowMemberCount",
    "NotInSquad",
    "SquadConflict",
    "SquadFull",
    "SquadInactive",
    "SquadNotEmpty",
    "SquadNotFound",
    "StaleSquad",
]


# --- Squads -------------------------------------------------------------------------------


class SquadNotFound(NotFound):
    code: ClassVar[str] = "squad_not_found"

    def __init__(self, squad_id: int | str) -> None:
        super().__init__(f"Squad {squad_id} not found", squad_id=squad_id)


class NotInSquad(NotFound):
    code: ClassVar[str] = "not_in_squad"

    def __init__(self, user_id: str) -> None:
        super().__init__("You are not in a squad.", user_id=user_id)


class SquadFull(GuildbankError):
    code: ClassVar[str] = "squad_full"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str, max_members: int) -> None:
        super().__init__(
            f"{name} is full ({max_members} members).",
            squad_id=squad_id,
            max_members=max_members,
        )


class SquadInactive(GuildbankError):
    code: ClassVar[str] = "squad_inactive"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str) -> None:
        super().__init__(f"{name} is not accepting members.", squad_id=squad_id)


class AlreadyInSquad(GuildbankError):
    code: ClassVar[str] = "already_in_squad"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, name: str) -> None:
        super().__init__(f"You are already in {name}.", squad_id=squad_id)


class SquadNotEmpty(GuildbankError):
    """Deleting a squad with members needs an explicit move or kick, never a silent drop."""

    code: ClassVar[str] = "squad_not_empty"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, members: int) -> None:
        super().__init__(
            f"Squad {squad_id} still has {members} member(s); move them to another squad "
            "or remove them first.",
            squad_id=squad_id,
            members=members,
        )


class SquadConflict(GuildbankError):
    """A name or role already used by another squad of the guild."""

    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, message: str, *, code: str, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.code = code  # type: ignore[misc]


class StaleSquad(GuildbankError):
    """The squad changed since the version the caller edited (``If-Match``, the dashboard's
    form): saving would silently undo someone else's change."""

    code: ClassVar[str] = "stale_version"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, squad_id: int, expected: str, current: str) -> None:
        super().__init__(
            f"Squad {squad_id} changed since you opened it (version {current}, you edited "
            f"{expected}); reload it and apply your change again.",
            squad_id=squad_id,
            expected=expected,
            current=current,
        )


class BelowMemberCount(GuildbankError):
    """A member limit below the members the squad already has."""

    code: ClassVar[str] = "max_members_below_count"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, *, name: str, members: int, max_members: int) -> None:
        super().__init__(
            f"{name} already has {members:,} members: the limit cannot be below {members:,} "
            f"(you asked for {max_members:,}). Move members out first.",
            members=members,
            max_members=max_members,
        )
