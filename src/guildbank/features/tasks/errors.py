"""What tasks refuse, each with a stable code."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = [
    "AlreadyClaimed",
    "AlreadyReviewed",
    "ClaimNotFound",
    "ClaimNotOpen",
    "OwnProof",
    "ProofRequired",
    "StaleTask",
    "TaskFull",
    "TaskLimitReached",
    "TaskNotActive",
    "TaskNotFound",
    "UserTasksDisabled",
]


class TaskNotFound(NotFound):
    code: ClassVar[str] = "task_not_found"

    def __init__(self, task_id: int | str) -> None:
        super().__init__(f"Task {task_id} not found", task_id=task_id)


class ClaimNotFound(NotFound):
    code: ClassVar[str] = "claim_not_found"

    def __init__(self, *, task_id: int, user_id: str) -> None:
        super().__init__(
            f"<@{user_id}> has not claimed task {task_id}.", task_id=task_id, user_id=user_id
        )


class TaskNotActive(GuildbankError):
    """The task is expired or archived: nobody can claim it now."""

    code: ClassVar[str] = "task_not_active"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, task_id: int, name: str, status: str) -> None:
        super().__init__(
            f"{name} is {status}: it cannot be claimed.", task_id=task_id, status=status
        )


class TaskFull(GuildbankError):
    code: ClassVar[str] = "task_full"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, task_id: int, name: str, max_claims: int) -> None:
        super().__init__(
            f"{name} has all its claims taken ({max_claims}).",
            task_id=task_id,
            max_claims=max_claims,
        )


class AlreadyClaimed(GuildbankError):
    code: ClassVar[str] = "already_claimed"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, task_id: int, name: str) -> None:
        super().__init__(f"You already claimed {name}.", task_id=task_id)


class TaskLimitReached(GuildbankError):
    code: ClassVar[str] = "task_limit_reached"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"You already have {limit} open task(s), the most this server allows; finish or "
            "abandon one first.",
            limit=limit,
        )


class ClaimNotOpen(GuildbankError):
    """Submitting or abandoning a claim that is accepted, expired, or waiting for review."""

    code: ClassVar[str] = "claim_not_open"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, task_id: int, status: str, doing: str) -> None:
        super().__init__(
            f"Your claim of task {task_id} is {status.replace('_', ' ')}: you cannot {doing} it.",
            task_id=task_id,
            status=status,
        )


class ProofRequired(GuildbankError):
    code: ClassVar[str] = "proof_required"
    kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self) -> None:
        super().__init__("This server requires proof: add a text or an attachment.")


class AlreadyReviewed(GuildbankError):
    """The claim is not waiting for review (reviewed by someone else, or never submitted)."""

    code: ClassVar[str] = "not_awaiting_review"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, task_id: int, user_id: str, status: str) -> None:
        super().__init__(
            f"This submission is {status.replace('_', ' ')}, not awaiting review.",
            task_id=task_id,
            user_id=user_id,
            status=status,
        )


class OwnProof(GuildbankError):
    code: ClassVar[str] = "own_proof"
    kind: ClassVar[ErrorKind] = "forbidden"

    def __init__(self) -> None:
        super().__init__("You cannot review your own proof.")


class UserTasksDisabled(GuildbankError):
    code: ClassVar[str] = "user_tasks_disabled"
    kind: ClassVar[ErrorKind] = "forbidden"

    def __init__(self) -> None:
        super().__init__("Members may not create tasks on this server.")


class StaleTask(GuildbankError):
    """The task changed since the version the caller edited (optimistic edits)."""

    code: ClassVar[str] = "stale_version"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(
            f"The task changed meanwhile (version {current}, you edited {expected}); "
            "reload it and apply your change again.",
            expected=expected,
            current=current,
        )
