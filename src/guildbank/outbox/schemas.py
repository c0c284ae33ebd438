"""The outbox API's wire models, and the payload each job kind carries.

The bot reads the same payload models back, so a job written by any path (a service, the
transfer's PostgreSQL function, an integrator through the API) is checked against one shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from guildbank.core.errors import InvalidInput
from guildbank.core.schemas import WHOLE, Out, Snowflake
from guildbank.outbox.rules import DM_SEND, MESSAGE_DELETE, MESSAGE_POST, PIN_KINDS, ROLE_KINDS

__all__ = [
    "ActionRow",
    "BacklogOut",
    "Button",
    "DmPayload",
    "DoneIn",
    "FailedIn",
    "JobIn",
    "JobOut",
    "JobStatus",
    "LeaseIn",
    "LeasedJob",
    "MessageDeletePayload",
    "MessagePayload",
    "MessagePinPayload",
    "MessageRef",
    "ReportIn",
    "ReportOut",
    "ReportsIn",
    "RolePayload",
    "StatusCounts",
    "validate_payload",
]

JobStatus = Literal["pending", "running", "done", "failed", "cancelled"]
Kind = Literal[
    "role.grant",
    "role.add",
    "role.remove",
    "message.post",
    "message.delete",
    "message.pin",
    "message.unpin",
    "dm.send",
]
MessageKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_ERROR = 1000
# Discord's limits on a message's buttons.
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
LINK_STYLE = 5


class RolePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Snowflake
    role_id: Snowflake
    reason: Annotated[str, StringConstraints(max_length=512)] | None = None


class Button(BaseModel):
    """A button as Discord's component JSON has it (type 2): styles 1-4 send an interaction
    with ``custom_id``, style 5 opens ``url``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[2] = 2
    style: Annotated[int, Field(ge=1, le=LINK_STYLE)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    custom_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    url: (
        Annotated[str, StringConstraints(max_length=512, pattern=r"^(https?|discord)://")] | None
    ) = None
    disabled: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> Button:
        if self.style == LINK_STYLE and (self.url is None or self.custom_id is not None):
            msg = "a link button (style 5) has a url and no custom_id"
            raise ValueError(msg)
        if self.style != LINK_STYLE and (self.custom_id is None or self.url is not None):
            msg = "a button of style 1-4 has a custom_id and no url"
            raise ValueError(msg)
        return self


class ActionRow(BaseModel):
    """A row of up to five buttons (component type 1)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal[1] = 1
    components: Annotated[list[Button], Field(min_length=1, max_length=MAX_BUTTONS_PER_ROW)]


class MessagePayload(BaseModel):
    """A post. With a ``key`` it is *the* message for that key: edited when it exists,
    recreated when it was deleted. Without one it is a one-off post (a log line)."""

    model_config = ConfigDict(extra="forbid")

    channel_id: Snowflake
    key: MessageKey | None = None
    content: Annotated[str, StringConstraints(max_length=MAX_CONTENT)] = ""
    # Discord's embed JSON, as the API documents it.
    embeds: Annotated[list[dict[str, Any]], Field(max_length=MAX_EMBEDS)] = []
    # Rows of buttons; absent: none (an edit removes the buttons a post had).
    components: Annotated[list[ActionRow], Field(max_length=MAX_ROWS)] | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> MessagePayload:
        ids = [b.custom_id for row in self.components or [] for b in row.components if b.custom_id]
        if len(ids) != len(set(ids)):
            msg = "custom_id values must be unique within a message"
            raise ValueError(msg)
        return self


class DmPayload(BaseModel):
    """A direct message to a member (the bot opens the DM channel). A member who closed their
    DMs is a permanent, skipped outcome, not a failure to retry."""

    model_config = ConfigDict(extra="forbid")

    user_id: Snowflake
    content: Annotated[str, StringConstraints(max_length=MAX_CONTENT)] = ""
    embeds: Annotated[list[dict[str, Any]], Field(max_length=MAX_EMBEDS)] = []

    @model_validator(mode="after")
    def _not_empty(self) -> DmPayload:
        if not self.content and not self.embeds:
            msg = "a DM needs content or embeds"
            raise ValueError(msg)
        return self


class MessageDeletePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: MessageKey


class MessagePinPayload(BaseModel):
    """Pin (``message.pin``) or unpin (``message.unpin``) the message shown for ``key``."""

    model_config = ConfigDict(extra="forbid")

    key: MessageKey


def validate_payload(kind: str, payload: Any) -> dict[str, Any]:
    """A kind's payload, checked and normalised; InvalidInput for an unknown kind or shape."""
    model: type[BaseModel]
    if kind in ROLE_KINDS:
        model = RolePayload
    elif kind == MESSAGE_POST:
        model = MessagePayload
    elif kind == MESSAGE_DELETE:
        model = MessageDeletePayload
    elif kind in PIN_KINDS:
        model = MessagePinPayload
    elif kind == DM_SEND:
        model = DmPayload
    else:
        raise InvalidInput(f"Unknown outbox job kind {kind!r}.", code="unknown_job_kind")
    try:
        return model.model_validate(payload).model_dump(mode="json", exclude_none=True)
    except ValueError as error:
        raise InvalidInput(f"Bad {kind} payload: {error}", code="invalid_payload") from None


class JobIn(BaseModel):
    """A job an integrator (or the bot's reconcile) asks for."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    payload: dict[str, Any]
    dedupe_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    delay_seconds: Annotated[float, Field(ge=0, le=86_400)] = 0.0


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# A timestamp always sent with its offset (a valid JSON Schema ``date-time``).
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class JobOut(Out):
    id: int
    guild_id: str
    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None
    status: JobStatus
    attempts: int
    revision: int
    next_attempt_at: UtcDatetime
    lease_expires_at: UtcDatetime | None
    last_error: str | None
    result: dict[str, Any] | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class MessageRef(BaseModel):
    channel_id: str
    message_id: str


class LeasedJob(JobOut):
    """A job a worker holds until ``lease_expires_at``; reports must quote ``lease``."""

    lease: str
    # For message jobs with a key: the message that shows it now, if any.
    message: MessageRef | None = None


class LeaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:@-]+$")]
    shard_ids: Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=4096)] = [0]
    shard_count: Annotated[int, Field(ge=1, le=65_536)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    # Long poll: with nothing due, wait this long for an ``outbox.ready`` before answering.
    wait_seconds: Annotated[float, Field(ge=0, le=60)] = 0.0


# The job's revision the worker ran (``leases.complete`` compares it); JSON 3.0 is 3.
Revision = Annotated[int, Field(ge=0, le=2**53 - 1), WHOLE]


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    lease: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    revision: Revision = 0
    result: dict[str, Any] | None = None


class FailedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    lease: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    error: Annotated[str, StringConstraints(max_length=MAX_ERROR)]
    # Discord said when to try again (a rate limit): not counted as an attempt.
    retry_after: Annotated[float, Field(ge=0, le=86_400)] | None = None
    # Discord refused for good (403, a deleted role or channel): no retry.
    permanent: bool = False


class ReportIn(BaseModel):
    """One job's outcome in a batch: done (``result``) or failed (``error`` set)."""

    # Strict: the worker sends real JSON types; "yes" is not a boolean here.
    model_config = ConfigDict(extra="forbid", strict=True)

    # Bounded where a JSON number is exact (2**63 - 1 reads back as a larger float).
    job_id: Annotated[int, Field(ge=1, le=2**53 - 1), WHOLE]
    lease: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    revision: Revision = 0
    result: dict[str, Any] | None = None
    error: Annotated[str, StringConstraints(max_length=MAX_ERROR)] | None = None
    retry_after: Annotated[float, Field(ge=0, le=86_400)] | None = None
    permanent: bool = False


class ReportsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reports: Annotated[list[ReportIn], Field(min_length=1, max_length=100)]


class ReportOut(BaseModel):
    """What became of one report: the job's new status, or why it was refused."""

    job_id: int
    status: JobStatus | None = None
    refused: str | None = None


class StatusCounts(Out):
    pending: int = 0
    running: int = 0
    failed: int = 0


class BacklogOut(StatusCounts):
    """Every guild's open jobs, for ``/health/detailed``."""

    oldest_pending_seconds: float | None = None
