"""What announcements, embeds, custom commands and operator settings refuse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound
from guildbank.features.announcements.rules import Violation

__all__ = [
    "AnnouncementNotFound",
    "AnnouncementState",
    "CommandNameTaken",
    "CommandNotFound",
    "EmbedInUse",
    "EmbedNameTaken",
    "EmbedNotFound",
    "InvalidAnnouncement",
    "InvalidCommand",
    "InvalidEmbed",
    "StaleVersion",
    "TaskNotFound",
]


class InvalidEmbed(GuildbankError):
    """Every limit the embed breaks, each named (``violations``: path, code, message)."""

    code: ClassVar[str] = "invalid_embed"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, violations: Sequence[Violation], *, prefix: str = "") -> None:
        listed = [
            {**v.as_dict(), "path": f"{prefix}{v.path}" if prefix else v.path} for v in violations
        ]
        super().__init__(
            "The embed breaks Discord's limits: "
            + "; ".join(f"{v['path']}: {v['message']}" for v in listed),
            violations=listed,
        )


class InvalidAnnouncement(GuildbankError):
    code: ClassVar[str] = "invalid_announcement"
    kind: ClassVar[ErrorKind] = "invalid"


class InvalidCommand(GuildbankError):
    code: ClassVar[str] = "invalid_command"
    kind: ClassVar[ErrorKind] = "invalid"


class EmbedNotFound(NotFound):
    code: ClassVar[str] = "embed_not_found"

    def __init__(self, embed_id: int) -> None:
        super().__init__(f"Embed {embed_id} not found", embed_id=embed_id)


class AnnouncementNotFound(NotFound):
    code: ClassVar[str] = "announcement_not_found"

    def __init__(self, announcement_id: int) -> None:
        super().__init__(
            f"Announcement {announcement_id} not found", announcement_id=announcement_id
        )


class CommandNotFound(NotFound):
    code: ClassVar[str] = "command_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no custom command /{name}", name=name)


class EmbedNameTaken(GuildbankError):
    code: ClassVar[str] = "embed_name_taken"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, name: str) -> None:
        super().__init__(f"An embed named {name!r} already exists.", name=name)


class CommandNameTaken(GuildbankError):
    code: ClassVar[str] = "command_name_taken"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, name: str) -> None:
        super().__init__(f"/{name} already exists: delete it first to redefine it.", name=name)


class EmbedInUse(GuildbankError):
    code: ClassVar[str] = "embed_in_use"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, embed_id: int, commands: Sequence[str]) -> None:
        names = ", ".join(f"/{c}" for c in commands)
        super().__init__(
            f"Embed {embed_id} answers {names}: change or delete those commands first.",
            embed_id=embed_id,
            commands=list(commands),
        )


class AnnouncementState(GuildbankError):
    """An action the announcement's state does not allow (editing a deleted one, …)."""

    code: ClassVar[str] = "announcement_state"
    kind: ClassVar[ErrorKind] = "conflict"


class StaleVersion(GuildbankError):
    code: ClassVar[str] = "stale_version"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, what: str, expected: int, current: int) -> None:
        super().__init__(
            f"{what} changed since you opened it (version {current}, you edited {expected}); "
            "reload it and apply your change again.",
            expected=expected,
            current=current,
        )


class TaskNotFound(NotFound):
    code: ClassVar[str] = "task_not_found"

    def __init__(self, task_id: int) -> None:
        super().__init__(f"Task {task_id} not found", task_id=task_id)
