"""What tasks announce on the event stream (dashboard pages follow them live)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = [
    "TaskAbandoned",
    "TaskClaimed",
    "TaskCreated",
    "TaskDeleted",
    "TaskExpired",
    "TaskReviewed",
    "TaskSubmitted",
    "TaskUpdated",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCreated(DomainEvent):
    name: ClassVar[str] = "task.created"
    task_id: int
    task_name: str
    reward: int
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskUpdated(DomainEvent):
    name: ClassVar[str] = "task.updated"
    task_id: int
    changed: list[str]
    status: str
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDeleted(DomainEvent):
    name: ClassVar[str] = "task.deleted"
    task_id: int
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskClaimed(DomainEvent):
    name: ClassVar[str] = "task.claimed"
    task_id: int
    user_id: str
    current_claims: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAbandoned(DomainEvent):
    name: ClassVar[str] = "task.abandoned"
    task_id: int
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSubmitted(DomainEvent):
    name: ClassVar[str] = "task.submitted"
    task_id: int
    user_id: str
    attachments: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskReviewed(DomainEvent):
    name: ClassVar[str] = "task.reviewed"
    task_id: int
    user_id: str
    accepted: bool
    reviewer_id: str | None
    reward: int
    transaction_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskExpired(DomainEvent):
    """Tasks past ``expires_at`` and claims past their deadline, expired by the scheduler."""

    name: ClassVar[str] = "task.expired"
    task_ids: list[int]
    claims: list[list[object]]  # [task_id, user_id] pairs
