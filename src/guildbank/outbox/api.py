"""The outbox over HTTP: the bot's worker protocol under ``/api/outbox`` (admin scope: the
bot's service key) and each guild's jobs under ``/api/guilds/{guild_id}/outbox``.

``POST /api/outbox/lease`` is a long poll: with nothing due it waits (up to
``wait_seconds``) for an ``outbox.ready`` event of the worker's shards on the bus, or for the
next retry to come due, then leases. The same request works over HTTP and in-process (the
embedded bot's ASGI transport buffers whole responses, so it could not read an SSE stream).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from guildbank.api.deps import (
    Admin,
    Caller,
    GuildId,
    RawJSONResponse,
    Reader,
    RowId,
    api_state,
    read,
    render_json,
)
from guildbank.api.idempotency import write
from guildbank.api.openapi import NO_IDEMPOTENCY_KEY
from guildbank.features.guilds.queries import get_config
from guildbank.outbox import leases, queries, service
from guildbank.outbox.events import OutboxJobChanged, OutboxReady
from guildbank.outbox.rules import RetryPolicy, shard_of
from guildbank.outbox.schemas import (
    BacklogOut,
    DoneIn,
    FailedIn,
    JobIn,
    JobOut,
    JobStatus,
    LeasedJob,
    LeaseIn,
    ReportOut,
    ReportsIn,
    StatusCounts,
)
from guildbank.platform.uow import UnitOfWork, unit_of_work
from guildbank.settings import Settings

__all__ = ["guild_router", "policy_from", "worker_router"]

worker_router = APIRouter(prefix="/outbox", tags=["outbox"])
guild_router = APIRouter(prefix="/guilds/{guild_id}/outbox", tags=["outbox"])
MIN_WAIT = 0.02
# A waiting lease looks again at least this often, should a wake-up event be lost.
MAX_QUIET = 2.0


def policy_from(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.outbox_max_attempts,
        base_seconds=settings.outbox_retry_base_seconds,
        cap_seconds=settings.outbox_retry_max_seconds,
        lease_seconds=settings.outbox_lease_seconds,
    )


# A report or lease is made harmless to repeat by its lease token, not an Idempotency-Key.
BY_LEASE: dict[str, Any] = {NO_IDEMPOTENCY_KEY: True}


@worker_router.post(
    "/lease", response_model=list[LeasedJob], dependencies=[Admin], openapi_extra=BY_LEASE
)
async def lease(request: Request, body: LeaseIn) -> Response:
    """Lease due jobs of the worker's shards; wait for some when ``wait_seconds`` > 0."""
    state = api_state(request)
    services, policy = state.services, policy_from(state.settings)
    shards = frozenset(body.shard_ids)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_seconds

    async def attempt() -> list[LeasedJob]:
        async with unit_of_work(services) as uow:
            jobs = await leases.lease_jobs(
                uow,
                owner=body.owner,
                shard_ids=body.shard_ids,
                shard_count=body.shard_count,
                limit=body.limit,
                policy=policy,
            )
            await uow.commit()
        return jobs

    async def next_due() -> datetime | None:
        async with unit_of_work(services, read_only=True) as uow:
            due = await leases.next_due(uow, shard_ids=body.shard_ids, shard_count=body.shard_count)
            await uow.commit()
        return due

    # Subscribed before the first look, so work committed in between still wakes us. The
    # database calls are shielded: a worker hanging up (a bot stopping) cancels the wait, not
    # a statement half-way (which can leave an SQLite connection that never closes); jobs
    # leased for a worker that left go back when their lease expires.
    names = [OutboxReady.name, OutboxJobChanged.name]
    async with services.bus.subscribe(names=names) as subscription:
        while (
            not (jobs := await asyncio.shield(attempt())) and (left := deadline - loop.time()) > 0
        ):
            due = await asyncio.shield(next_due())
            left = min(left, MAX_QUIET)
            if due is not None:
                left = min(left, max(MIN_WAIT, (due - services.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    while True:
                        event = await subscription.queue.get()
                        if event.name == OutboxReady.name and (
                            shard_of(event.guild_id, body.shard_count) in shards
                        ):
                            break
    return RawJSONResponse(render_json(jobs))


@worker_router.post(
    "/jobs/{job_id}/done", response_model=JobOut, dependencies=[Admin], openapi_extra=BY_LEASE
)
async def job_done(request: Request, job_id: RowId, body: DoneIn) -> Response:
    """The job's effect happened (``result``: e.g. the message id); 409 for a stale lease."""

    async def action(uow: UnitOfWork) -> JobOut:
        return await leases.complete_job(
            uow, job_id=job_id, lease=body.lease, revision=body.revision, result=body.result
        )

    return await _unkeyed_write(request, action)


@worker_router.post(
    "/jobs/{job_id}/failed", response_model=JobOut, dependencies=[Admin], openapi_extra=BY_LEASE
)
async def job_failed(request: Request, job_id: RowId, body: FailedIn) -> Response:
    """The attempt failed: retried later (backoff, or Discord's ``retry_after``) or, when
    ``permanent`` or out of attempts, failed for an admin to see; 409 for a stale lease."""
    policy = policy_from(api_state(request).settings)

    async def action(uow: UnitOfWork) -> JobOut:
        return await leases.fail_job(
            uow,
            job_id=job_id,
            lease=body.lease,
            error=body.error,
            retry_after=body.retry_after,
            permanent=body.permanent,
            policy=policy,
        )

    return await _unkeyed_write(request, action)


@worker_router.post(
    "/reports", response_model=list[ReportOut], dependencies=[Admin], openapi_extra=BY_LEASE
)
async def reports(request: Request, body: ReportsIn) -> Response:
    """Many outcomes in one transaction (how the bot reports a batch); each answer says the
    job's new status or why its report was refused (``stale_lease``, ...)."""
    policy = policy_from(api_state(request).settings)
    async with unit_of_work(api_state(request).services) as uow:
        answers = await leases.record_reports(uow, body.reports, policy=policy)
        await uow.commit()
    return RawJSONResponse(render_json(answers))


async def _unkeyed_write(
    request: Request, action: Callable[[UnitOfWork], Awaitable[JobOut]]
) -> Response:
    """A report in its own unit of work (the lease token makes a replay harmless: refused)."""
    async with unit_of_work(api_state(request).services) as uow:
        body = render_json(await action(uow))
        await uow.commit()
    return RawJSONResponse(body)


@worker_router.get("/backlog", response_model=BacklogOut, dependencies=[Reader])
async def get_backlog(request: Request) -> Response:
    """Every guild's pending, running and failed jobs, and the oldest pending job's age."""
    return await read(request, queries.backlog)


@guild_router.get("/jobs", response_model=list[JobOut])
async def list_jobs(
    request: Request,
    guild_id: GuildId,
    _: Caller,
    status: Annotated[list[JobStatus] | None, Query(description="Jobs in these states")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """The guild's jobs, newest first (pending, running and failed unless asked)."""

    async def action(uow: UnitOfWork) -> list[JobOut]:
        await get_config(uow, guild_id)
        return await queries.list_jobs(
            uow,
            guild_id=guild_id,
            statuses=status or ("pending", "running", "failed"),
            limit=limit,
            offset=offset,
        )

    return await read(request, action)


@guild_router.get("/counts", response_model=StatusCounts)
async def get_counts(request: Request, guild_id: GuildId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> StatusCounts:
        await get_config(uow, guild_id)
        return await queries.status_counts(uow, guild_id=guild_id)

    return await read(request, action)


@guild_router.post("/jobs", response_model=JobOut, dependencies=[Admin], status_code=201)
async def create_job(request: Request, guild_id: GuildId, body: JobIn) -> Response:
    """Ask for a Discord side effect (a role, a message); same ``dedupe_key`` jobs coalesce."""

    async def action(uow: UnitOfWork) -> JobOut:
        await get_config(uow, guild_id)
        job_id = await service.enqueue(
            uow,
            guild_id=guild_id,
            kind=body.kind,
            payload=body.payload,
            dedupe_key=body.dedupe_key,
            delay=body.delay_seconds,
        )
        return await queries.get_job(uow, guild_id=guild_id, job_id=job_id)

    return await write(request, guild_id, action, status_code=201)


@guild_router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(request: Request, guild_id: GuildId, job_id: RowId, _: Caller) -> Response:
    async def action(uow: UnitOfWork) -> JobOut:
        return await queries.get_job(uow, guild_id=guild_id, job_id=job_id)

    return await read(request, action)


@guild_router.post("/jobs/{job_id}/retry", response_model=JobOut, dependencies=[Admin])
async def retry_job(request: Request, guild_id: GuildId, job_id: RowId) -> Response:
    """Try a failed or cancelled job again now, attempts counted afresh."""

    async def action(uow: UnitOfWork) -> JobOut:
        return await service.retry_job(uow, guild_id=guild_id, job_id=job_id)

    return await write(request, guild_id, action)


@guild_router.post("/jobs/{job_id}/cancel", response_model=JobOut, dependencies=[Admin])
async def cancel_job(request: Request, guild_id: GuildId, job_id: RowId) -> Response:
    """Give up on a job that is not done."""

    async def action(uow: UnitOfWork) -> JobOut:
        return await service.cancel_job(uow, guild_id=guild_id, job_id=job_id)

    return await write(request, guild_id, action)
