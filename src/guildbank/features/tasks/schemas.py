"""The tasks API's wire models (limits from ``rules``, so each is written once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.schemas import MULTI_LINE, SINGLE_LINE, WHOLE, Out, RequiredReason, Snowflake
from guildbank.features.tasks.rules import (
    MAX_ATTACHMENTS,
    MAX_CATEGORY_LENGTH,
    MAX_CLAIMS,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_HOURS,
    MAX_NAME_LENGTH,
    MAX_PROOF_LENGTH,
    MAX_TASKS_PER_USER,
    MAX_URL_LENGTH,
)

__all__ = [
    "ClaimIn",
    "MemberTaskOut",
    "ReviewIn",
    "SubmitIn",
    "TaskCreate",
    "TaskDeleteOut",
    "TaskOut",
    "TaskSettingsOut",
    "TaskSettingsUpdate",
    "TaskStatsOut",
    "TaskUpdate",
]

TaskName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, strip_whitespace=True),
    SINGLE_LINE,
]
TaskDescription = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH), MULTI_LINE]
Category = Annotated[
    str, StringConstraints(max_length=MAX_CATEGORY_LENGTH, strip_whitespace=True), SINGLE_LINE
]
Reward = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), WHOLE]
DurationHours = Annotated[int, Field(ge=1, le=MAX_DURATION_HOURS, strict=True), WHOLE]
# -1 (unlimited) or a number of places: 0 is no task at all.
MaxClaims = Annotated[Literal[-1] | Annotated[int, Field(ge=1, le=MAX_CLAIMS, strict=True)], WHOLE]
ProofText = Annotated[str, StringConstraints(max_length=MAX_PROOF_LENGTH), MULTI_LINE]
# An http(s) URL without spaces or control characters (the pattern is the whole rule, so
# the document states it exactly).
AttachmentUrl = Annotated[
    str,
    StringConstraints(max_length=MAX_URL_LENGTH, pattern=r"^https?://[^\x00-\x20\x7f-\x9f]+$"),
]
TaskStatus = Literal["active", "expired", "archived"]
ClaimStatus = Literal["in_progress", "submitted", "accepted", "rejected", "expired"]
SyncStatus = Literal["synced", "pending", "failed", "none"]


class TaskOut(Out):
    id: int
    guild_id: str
    name: str
    description: str
    reward: int
    duration_hours: int
    status: TaskStatus
    channel_id: str | None
    max_claims: int
    current_claims: int
    category: str | None
    role_id: str | None
    created_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    # The task's post in Discord, as the outbox knows it.
    message_id: str | None = None
    sync_status: SyncStatus = "none"


class MemberTaskOut(Out):
    id: int
    guild_id: str
    task_id: int
    task_name: str
    reward: int
    user_id: str
    status: ClaimStatus
    claimed_at: datetime
    deadline: datetime
    proof_text: str | None
    proof_urls: list[str]
    submitted_at: datetime | None
    reviewed_at: datetime | None
    reviewer_id: str | None
    rejection_reason: str | None
    completed_at: datetime | None
    transaction_id: int | None
    proof_message_id: str | None = None


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCreate(_Fields):
    name: TaskName
    description: TaskDescription = ""
    reward: Reward
    duration_hours: DurationHours = 24
    max_claims: MaxClaims = -1
    category: Category | None = None
    channel_id: Snowflake | None = None
    role_id: Snowflake | None = None
    actor_id: Snowflake | None = None


class TaskUpdate(_Fields):
    """Only the fields sent change; ``category``, ``channel_id`` and ``role_id`` may be null.
    ``status`` archives a task ("archived") or reopens it ("active")."""

    # Optional but not nullable: the document leaves null out, the validator refuses it.
    name: TaskName | SkipJsonSchema[None] = None
    description: TaskDescription | SkipJsonSchema[None] = None
    reward: Reward | SkipJsonSchema[None] = None
    duration_hours: DurationHours | SkipJsonSchema[None] = None
    max_claims: MaxClaims | SkipJsonSchema[None] = None
    category: Category | None = None
    channel_id: Snowflake | None = None
    role_id: Snowflake | None = None
    status: Literal["active", "archived"] | SkipJsonSchema[None] = None
    version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True), WHOLE] | None = None
    actor_id: Snowflake | None = None

    @model_validator(mode="after")
    def _checks(self) -> TaskUpdate:
        nullable = {"category", "channel_id", "role_id", "actor_id", "version"}
        nulls = [n for n in self.model_fields_set - nullable if getattr(self, n) is None]
        if nulls:
            msg = f"{', '.join(sorted(nulls))} cannot be null"
            raise ValueError(msg)
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"actor_id", "version"})


class ClaimIn(_Fields):
    user_id: Snowflake


class SubmitIn(_Fields):
    user_id: Snowflake
    proof: ProofText | None = None
    attachments: Annotated[list[AttachmentUrl], Field(max_length=MAX_ATTACHMENTS)] = []


class ReviewIn(_Fields):
    user_id: Snowflake
    accept: Annotated[bool, Field(strict=True)]
    reviewer_id: Snowflake
    reason: RequiredReason | None = None


class TaskDeleteOut(Out):
    guild_id: str
    task_id: int
    claims_removed: int


class TaskSettingsOut(Out):
    guild_id: str
    allow_user_tasks: bool
    max_tasks_per_user: int
    auto_expire_enabled: bool
    require_proof: bool
    announcement_channel_id: str | None
    review_channel_id: str | None
    version: int


class TaskSettingsUpdate(_Fields):
    allow_user_tasks: Annotated[bool, Field(strict=True)] | SkipJsonSchema[None] = None
    max_tasks_per_user: (
        Annotated[int, Field(ge=1, le=MAX_TASKS_PER_USER, strict=True), WHOLE]
        | SkipJsonSchema[None]
    ) = None
    auto_expire_enabled: Annotated[bool, Field(strict=True)] | SkipJsonSchema[None] = None
    require_proof: Annotated[bool, Field(strict=True)] | SkipJsonSchema[None] = None
    announcement_channel_id: Snowflake | None = None
    review_channel_id: Snowflake | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> TaskSettingsUpdate:
        nullable = {"announcement_channel_id", "review_channel_id"}
        nulls = [n for n in self.model_fields_set - nullable if getattr(self, n) is None]
        if nulls:
            msg = f"{', '.join(sorted(nulls))} cannot be null"
            raise ValueError(msg)
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class TaskStatsOut(Out):
    guild_id: str
    tasks: int
    active_tasks: int
    claims: int
    accepted: int
    rejected_pending: int
    awaiting_review: int
    expired_claims: int
    completion_rate: float
    average_review_seconds: float | None
    bytes_paid: int
    paid_per_task: dict[str, int]
