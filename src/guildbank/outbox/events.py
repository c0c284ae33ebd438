"""What the outbox announces: work is ready (wakes the workers) and a job changed state
(the Sync page updates live)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["OutboxJobChanged", "OutboxReady"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxReady(DomainEvent):
    """A unit of work wrote jobs for this guild (once per unit and guild)."""

    name: ClassVar[str] = "outbox.ready"
    job_id: int
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxJobChanged(DomainEvent):
    """A job was done, failed, scheduled for a retry, retried or cancelled."""

    name: ClassVar[str] = "outbox.job"
    job_id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
