"""Tasks under ``/api/guilds/{guild_id}/tasks``: reads, admin CRUD and settings, the member
flow (claim, submit, abandon) and the review that pays.

Static paths (``/settings``, ``/review``, ``/stats``, ``/user/…``) come before the
``/{task_id:int}`` ones. Every write takes an ``Idempotency-Key`` (``api.idempotency.write``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import Admin, Caller, GuildId, UserId, Writer, read
from guildbank.api.idempotency import write
from guildbank.core.ids import MAX_SNOWFLAKE
from guildbank.features.guilds.api import IfMatch, expected_version
from guildbank.features.guilds.gate import feature_on
from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks import queries as tasks
from guildbank.features.tasks import service as task_service
from guildbank.features.tasks.schemas import (
    ClaimIn,
    MemberTaskOut,
    ReviewIn,
    SubmitIn,
    TaskCreate,
    TaskDeleteOut,
    TaskOut,
    TaskSettingsOut,
    TaskSettingsUpdate,
    TaskStatsOut,
    TaskUpdate,
)
from guildbank.features.tasks.stats import task_statistics
from guildbank.platform.uow import UnitOfWork

__all__ = ["router"]

router = APIRouter(
    prefix="/guilds/{guild_id}/tasks", tags=["tasks"], dependencies=[feature_on("tasks")]
)
TaskId = Annotated[int, Path(ge=1, le=MAX_SNOWFLAKE, description="The task's id")]
CLAIM_ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "`task_not_found`"},
    409: {
        "description": "`already_claimed`, `task_not_active`, `task_full` or `task_limit_reached`"
    },
}


@router.get("", response_model=list[TaskOut])
async def list_tasks(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    status: Literal["active", "expired", "archived"] | None = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    open: Annotated[bool, Query(description="Only tasks a member can claim now")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SNOWFLAKE)] = 0,
) -> Response:
    """The guild's tasks, newest first, with their claims count and post's sync status."""

    async def action(uow: UnitOfWork) -> list[TaskOut]:
        return await tasks.list_tasks(
            uow,
            guild_id=guild_id,
            status=status,
            category=category,
            open_only=open,
            limit=limit,
            offset=offset,
        )

    return await read(request, action)


@router.post(
    "",
    response_model=TaskOut,
    dependencies=[Admin],
    status_code=201,
    responses={400: {"description": "`invalid_task_name`, `unknown_channel`, `unknown_role`, …"}},
)
async def create_task(request: Request, guild_id: GuildId, body: TaskCreate) -> Response:
    """Create a task (open for ``duration_hours``) and post it in its channel."""

    async def action(uow: UnitOfWork) -> TaskOut:
        return await task_admin.create_task(
            uow,
            guild_id=guild_id,
            name=body.name,
            description=body.description,
            reward=body.reward,
            duration_hours=body.duration_hours,
            max_claims=body.max_claims,
            category=body.category,
            channel_id=body.channel_id,
            role_id=body.role_id,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action, status_code=201)


@router.get("/settings", response_model=TaskSettingsOut)
async def get_settings(request: Request, guild_id: GuildId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> TaskSettingsOut:
        return await tasks.get_settings(uow, guild_id=guild_id)

    return await read(request, action)


@router.put(
    "/settings",
    response_model=TaskSettingsOut,
    dependencies=[Admin],
    responses={409: {"description": "`stale_version` (If-Match)"}},
)
async def update_settings(
    request: Request, guild_id: GuildId, body: TaskSettingsUpdate, if_match: IfMatch = None
) -> Response:
    """Change some task settings; the others keep their values."""
    expected = expected_version(if_match)

    async def action(uow: UnitOfWork) -> TaskSettingsOut:
        return await task_admin.update_settings(
            uow, guild_id=guild_id, changes=body.changes(), version=expected
        )

    return await write(request, guild_id, action)


@router.get("/review", response_model=list[MemberTaskOut])
async def review_queue(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    task_id: Annotated[int | None, Query(ge=1, le=MAX_SNOWFLAKE)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Submitted proofs waiting for review, oldest first."""

    async def action(uow: UnitOfWork) -> list[MemberTaskOut]:
        return await tasks.review_queue(uow, guild_id=guild_id, task_id=task_id, limit=limit)

    return await read(request, action)


@router.get("/stats", response_model=TaskStatsOut)
async def get_statistics(request: Request, guild_id: GuildId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> TaskStatsOut:
        return await task_statistics(uow, guild_id=guild_id)

    return await read(request, action)


@router.get("/user/{user_id}", response_model=list[MemberTaskOut])
async def member_tasks(
    request: Request,
    guild_id: GuildId,
    user_id: UserId,
    _: Caller,
    status: Literal["in_progress", "submitted", "accepted", "rejected", "expired"] | None = None,
) -> Response:
    """A member's claims, newest first."""

    async def action(uow: UnitOfWork) -> list[MemberTaskOut]:
        return await tasks.member_claims(uow, guild_id=guild_id, user_id=user_id, status=status)

    return await read(request, action)


@router.get(
    "/{task_id:int}", response_model=TaskOut, responses={404: {"description": "`task_not_found`"}}
)
async def get_task(request: Request, guild_id: GuildId, task_id: TaskId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> TaskOut:
        return await tasks.get_task(uow, guild_id=guild_id, task_id=task_id)

    return await read(request, action)


@router.put(
    "/{task_id:int}",
    response_model=TaskOut,
    dependencies=[Admin],
    responses={
        400: {"description": "An invalid field (`invalid_task_name`, `invalid_max_claims`, …)"},
        404: {"description": "`task_not_found`"},
        409: {"description": "`stale_version` (If-Match or `version`)"},
    },
)
async def update_task(
    request: Request, guild_id: GuildId, task_id: TaskId, body: TaskUpdate, if_match: IfMatch = None
) -> Response:
    """Change some fields (``status``: archive or reopen); the others keep their values."""
    expected = expected_version(if_match) if if_match is not None else body.version

    async def action(uow: UnitOfWork) -> TaskOut:
        return await task_admin.update_task(
            uow,
            guild_id=guild_id,
            task_id=task_id,
            changes=body.changes(),
            version=expected,
            actor_id=body.actor_id,
        )

    return await write(request, guild_id, action)


@router.delete(
    "/{task_id:int}",
    response_model=TaskDeleteOut,
    dependencies=[Admin],
    responses={404: {"description": "`task_not_found`"}},
)
async def delete_task(request: Request, guild_id: GuildId, task_id: TaskId) -> Response:
    """Delete a task, its claims and their posts (paid rewards stay in the ledger)."""

    async def action(uow: UnitOfWork) -> TaskDeleteOut:
        return await task_admin.delete_task(uow, guild_id=guild_id, task_id=task_id)

    return await write(request, guild_id, action)


@router.get("/{task_id:int}/claims", response_model=list[MemberTaskOut])
async def task_claims(request: Request, guild_id: GuildId, task_id: TaskId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> list[MemberTaskOut]:
        return await tasks.task_claims(uow, guild_id=guild_id, task_id=task_id)

    return await read(request, action)


@router.post(
    "/{task_id:int}/claim",
    response_model=MemberTaskOut,
    dependencies=[Writer],
    responses=CLAIM_ERRORS,
)
async def claim_task(
    request: Request, guild_id: GuildId, task_id: TaskId, body: ClaimIn
) -> Response:
    """Claim a task: in progress, with a deadline ``duration_hours`` from now."""

    async def action(uow: UnitOfWork) -> MemberTaskOut:
        return await task_service.claim_task(
            uow, guild_id=guild_id, task_id=task_id, user_id=body.user_id
        )

    return await write(request, guild_id, action)


@router.post(
    "/{task_id:int}/submit",
    response_model=MemberTaskOut,
    dependencies=[Writer],
    responses={
        400: {"description": "`proof_required`, `invalid_attachment`"},
        404: {"description": "`claim_not_found`"},
        409: {"description": "`claim_not_open` (accepted, expired or awaiting review)"},
    },
)
async def submit_proof(
    request: Request, guild_id: GuildId, task_id: TaskId, body: SubmitIn
) -> Response:
    """Submit proof (text and/or up to 5 attachment URLs); it is posted for review."""

    async def action(uow: UnitOfWork) -> MemberTaskOut:
        return await task_service.submit_proof(
            uow,
            guild_id=guild_id,
            task_id=task_id,
            user_id=body.user_id,
            proof=body.proof,
            attachments=list(body.attachments),
        )

    return await write(request, guild_id, action)


@router.post(
    "/{task_id:int}/review",
    response_model=MemberTaskOut,
    dependencies=[Admin],
    responses={
        400: {"description": "`reason_required` (a rejection without a reason)"},
        403: {"description": "`own_proof`"},
        404: {"description": "`claim_not_found`"},
        409: {"description": "`not_awaiting_review` (already reviewed: nothing is paid again)"},
    },
)
async def review_task(
    request: Request, guild_id: GuildId, task_id: TaskId, body: ReviewIn
) -> Response:
    """Accept (pay the reward once, grant the role) or reject (with a reason) a proof."""

    async def action(uow: UnitOfWork) -> MemberTaskOut:
        return await task_service.review_task(
            uow,
            guild_id=guild_id,
            task_id=task_id,
            user_id=body.user_id,
            accept=body.accept,
            reviewer_id=body.reviewer_id,
            reason=body.reason,
        )

    return await write(request, guild_id, action)


@router.post(
    "/{task_id:int}/abandon",
    response_model=MemberTaskOut,
    dependencies=[Writer],
    responses={404: {"description": "`claim_not_found`"}, 409: {"description": "`claim_not_open`"}},
)
async def abandon_task(
    request: Request, guild_id: GuildId, task_id: TaskId, body: ClaimIn
) -> Response:
    """Give a claim up (in progress or rejected): its place is free again."""

    async def action(uow: UnitOfWork) -> MemberTaskOut:
        return await task_service.abandon_task(
            uow, guild_id=guild_id, task_id=task_id, user_id=body.user_id
        )

    return await write(request, guild_id, action)
