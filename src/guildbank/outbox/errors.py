"""What the outbox refuses."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import ErrorKind, GuildbankError, NotFound

__all__ = ["JobConflict", "JobNotFound", "StaleLease"]


class JobNotFound(NotFound):
    code: ClassVar[str] = "outbox_job_not_found"

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Outbox job {job_id} not found", job_id=job_id)


class StaleLease(GuildbankError):
    """A worker reported on a lease it no longer holds (it expired and another took over,
    or an admin cancelled the job): its report is refused, so an outcome is recorded once."""

    code: ClassVar[str] = "stale_lease"
    kind: ClassVar[ErrorKind] = "conflict"

    def __init__(self, job_id: int) -> None:
        super().__init__(
            f"Outbox job {job_id} is no longer leased by this worker: report refused",
            job_id=job_id,
        )


class JobConflict(GuildbankError):
    """An admin action that does not fit the job's state (retry a done job, ...)."""

    code: ClassVar[str] = "outbox_job_conflict"
    kind: ClassVar[ErrorKind] = "conflict"
