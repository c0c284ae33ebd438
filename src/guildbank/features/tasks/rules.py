"""Task rules that need no database: field limits, proof limits, who may claim, deadlines.

A task is open for ``duration_hours`` after it is created (``expires_at``), and each claim has
``duration_hours`` from the moment it was made to be submitted (its ``deadline``). A claim
holds a place toward ``max_claims`` (-1: unlimited) unless it expired; a member's open
claims (in progress, submitted, rejected) count toward ``max_tasks_per_user``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from guildbank.core.errors import InvalidInput
from guildbank.core.ids import is_snowflake
from guildbank.core.limits import MAX_AMOUNT
from guildbank.core.text import check_text, normalize_newlines
from guildbank.features.tasks.errors import (
    AlreadyClaimed,
    ProofRequired,
    TaskFull,
    TaskLimitReached,
    TaskNotActive,
)

__all__ = [
    "BUTTON_PREFIX",
    "DEFAULT_MAX_TASKS_PER_USER",
    "MAX_ATTACHMENTS",
    "MAX_CATEGORY_LENGTH",
    "MAX_CLAIMS",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_DURATION_HOURS",
    "MAX_NAME_LENGTH",
    "MAX_PROOF_LENGTH",
    "MAX_TASKS_PER_USER",
    "MAX_URL_LENGTH",
    "OPEN_CLAIM_STATUSES",
    "PLACE_HOLDING_STATUSES",
    "TaskFields",
    "TaskSettingsValues",
    "check_can_claim",
    "check_proof",
    "deadline_for",
    "validate_settings",
    "validate_task",
]

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_CATEGORY_LENGTH = 50
MAX_DURATION_HOURS = 24 * 365
MAX_CLAIMS = 1_000_000
MAX_PROOF_LENGTH = 2000
MAX_ATTACHMENTS = 5
MAX_URL_LENGTH = 500
DEFAULT_MAX_TASKS_PER_USER = 10
MAX_TASKS_PER_USER = 1000
# The custom ids of the task buttons (``gbtask:<action>:…``): the posts' (outbox) and the
# bot's own, all answered by the bot's listeners.
BUTTON_PREFIX = "gbtask"

# Claims a member is still working on (or waiting on): they count toward max_tasks_per_user.
OPEN_CLAIM_STATUSES = ("in_progress", "submitted", "rejected")
# Claims holding one of the task's places (max_claims): all but expired ones.
PLACE_HOLDING_STATUSES = ("in_progress", "submitted", "rejected", "accepted")


@dataclass(frozen=True, slots=True)
class TaskFields:
    """The editable values of a task, validated together."""

    name: str
    description: str = ""
    reward: int = 0
    duration_hours: int = 24
    max_claims: int = -1
    category: str | None = None
    channel_id: str | None = None
    role_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskSettingsValues:
    """A guild's task settings; these defaults apply until an admin saves others."""

    allow_user_tasks: bool = False
    max_tasks_per_user: int = DEFAULT_MAX_TASKS_PER_USER
    auto_expire_enabled: bool = True
    require_proof: bool = True
    announcement_channel_id: str | None = None
    review_channel_id: str | None = None
    version: int = 0


def _check_id(value: str | None, field: str) -> None:
    if value is not None and not is_snowflake(value):
        raise InvalidInput(f"{field} {value!r} is not a Discord id", code="invalid_id", field=field)


def validate_task(fields: TaskFields) -> TaskFields:
    """Refuse out-of-range values; returns the fields with texts trimmed."""
    name = fields.name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput(
            f"A task name needs 1 to {MAX_NAME_LENGTH} characters.", code="invalid_task_name"
        )
    check_text(name, field="name")
    description = normalize_newlines(fields.description.strip())
    check_text(description, field="description", multiline=True)
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"A task description is limited to {MAX_DESCRIPTION_LENGTH} characters.",
            code="invalid_task_description",
        )
    if isinstance(fields.reward, bool) or not 0 <= fields.reward <= MAX_AMOUNT:
        raise InvalidInput(f"The reward must be between 0 and {MAX_AMOUNT}.", code="invalid_amount")
    if not 1 <= fields.duration_hours <= MAX_DURATION_HOURS:
        raise InvalidInput(
            f"The duration must be 1 to {MAX_DURATION_HOURS} hours.", code="invalid_duration"
        )
    if fields.max_claims != -1 and not 1 <= fields.max_claims <= MAX_CLAIMS:
        raise InvalidInput(
            f"max_claims must be -1 (unlimited) or 1 to {MAX_CLAIMS}.", code="invalid_max_claims"
        )
    category = (fields.category or "").strip() or None
    if category is not None:
        check_text(category, field="category")
        if len(category) > MAX_CATEGORY_LENGTH:
            raise InvalidInput(
                f"A category is limited to {MAX_CATEGORY_LENGTH} characters.",
                code="invalid_category",
            )
    _check_id(fields.channel_id, "channel_id")
    _check_id(fields.role_id, "role_id")
    return TaskFields(
        name,
        description,
        fields.reward,
        fields.duration_hours,
        fields.max_claims,
        category,
        fields.channel_id,
        fields.role_id,
    )


def validate_settings(values: TaskSettingsValues) -> None:
    if not 1 <= values.max_tasks_per_user <= MAX_TASKS_PER_USER:
        raise InvalidInput(
            f"max_tasks_per_user must be 1 to {MAX_TASKS_PER_USER}.",
            code="invalid_setting",
            setting="max_tasks_per_user",
        )
    _check_id(values.announcement_channel_id, "announcement_channel_id")
    _check_id(values.review_channel_id, "review_channel_id")


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[": an unclosed IPv6 host
        parts = None
    if (
        parts is None
        or len(url) > MAX_URL_LENGTH
        or parts.scheme not in ("http", "https")
        or not parts.netloc
    ):
        raise InvalidInput(
            f"Attachments are http(s) URLs of at most {MAX_URL_LENGTH} characters.",
            code="invalid_attachment",
        )
    check_text(url, field="attachment")


def check_proof(text: str | None, urls: list[str], *, require_proof: bool) -> str | None:
    """The proof text as stored (trimmed, None when empty); refuses oversize or missing proof."""
    proof = normalize_newlines((text or "").strip()) or None
    if proof is not None:
        check_text(proof, field="proof", multiline=True)
        if len(proof) > MAX_PROOF_LENGTH:
            raise InvalidInput(
                f"Proof text is limited to {MAX_PROOF_LENGTH} characters.", code="proof_too_long"
            )
    if len(urls) > MAX_ATTACHMENTS:
        raise InvalidInput(
            f"At most {MAX_ATTACHMENTS} attachments per proof.", code="too_many_attachments"
        )
    for url in urls:
        _check_url(url)
    if require_proof and proof is None and not urls:
        raise ProofRequired
    return proof


def check_can_claim(
    *,
    task_id: int,
    name: str,
    status: str,
    expires_at: datetime,
    now: datetime,
    max_claims: int,
    current_claims: int,
    already_claimed: bool,
    open_claims: int,
    max_tasks_per_user: int,
) -> None:
    """Refuse a claim the task or the member's state forbids; "already claimed" wins."""
    if already_claimed:
        raise AlreadyClaimed(task_id=task_id, name=name)
    if status != "active" or expires_at <= now:
        raise TaskNotActive(
            task_id=task_id, name=name, status="expired" if status == "active" else status
        )
    if max_claims != -1 and current_claims >= max_claims:
        raise TaskFull(task_id=task_id, name=name, max_claims=max_claims)
    if open_claims >= max_tasks_per_user:
        raise TaskLimitReached(limit=max_tasks_per_user)


def deadline_for(claimed_at: datetime, duration_hours: int) -> datetime:
    return claimed_at + timedelta(hours=duration_hours)
