"""Helpers of the outbox tests: guild ids on given shards, jobs written and leased."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from guildbank.features.guilds.service import register_guild
from guildbank.outbox import leases, service
from guildbank.outbox.rules import RetryPolicy
from guildbank.outbox.schemas import LeasedJob
from guildbank.outbox.worker import OutboxWorker
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import Services, unit_of_work
from tests.bot.world import WAIT, BotWorld
from tests.conftest import FakeClock

POLICY = RetryPolicy(max_attempts=3, base_seconds=10.0, cap_seconds=100.0, lease_seconds=30.0)
USER = "300000000000000001"
ROLE = "500000000000000001"


def guild_on_shard(shard: int, count: int, n: int = 0) -> str:
    """A guild id that Discord puts on ``shard`` of ``count``."""
    base = (1 << 40) + n * count
    return str(((base - base % count + shard) << 22) | 7)


async def register(services: Services, *guild_ids: str) -> None:
    for guild_id in guild_ids:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=guild_id, name=f"guild {guild_id}")
            await uow.commit()


async def grant(
    services: Services, guild_id: str, user: str = USER, role: str = ROLE, **extra: Any
) -> int:
    """A committed ``role.grant`` job (coalescing by its key)."""
    async with unit_of_work(services) as uow:
        job_id = await service.enqueue(
            uow,
            guild_id=guild_id,
            kind="role.grant",
            payload={"user_id": user, "role_id": role, "reason": "test"},
            dedupe_key=f"role.grant:{user}:{role}",
            **extra,
        )
        await uow.commit()
    return job_id


async def lease(
    services: Services,
    owner: str = "worker-a",
    *,
    shard_ids: tuple[int, ...] = (0,),
    shard_count: int = 1,
    limit: int = 20,
    policy: RetryPolicy = POLICY,
) -> list[LeasedJob]:
    async with unit_of_work(services) as uow:
        jobs = await leases.lease_jobs(
            uow,
            owner=owner,
            shard_ids=shard_ids,
            shard_count=shard_count,
            limit=limit,
            policy=policy,
        )
        await uow.commit()
    return jobs


async def job_row(services: Services, job_id: int) -> OutboxJob:
    async with unit_of_work(services, read_only=True) as uow:
        row = (
            await uow.session.execute(select(OutboxJob).where(OutboxJob.id == job_id))
        ).scalar_one()
        await uow.commit()
    return row


async def all_jobs(services: Services) -> list[OutboxJob]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = list(await uow.session.scalars(select(OutboxJob).order_by(OutboxJob.id)))
        await uow.commit()
    return rows


async def jobs_of(services: Services) -> list[OutboxJob]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = list(await uow.session.scalars(select(OutboxJob).order_by(OutboxJob.id)))
        await uow.commit()
    return rows


async def wait_for_jobs(
    services: Services,
    done: Callable[[list[OutboxJob]], bool],
    timeout: float = WAIT,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
) -> list[OutboxJob]:
    """Polls the outbox until ``done(jobs)``; fails with the jobs' states after ``timeout``."""
    jobs: list[OutboxJob] = []
    try:
        async with asyncio.timeout(timeout):
            while not done(jobs := await jobs_of(services)):  # noqa: ASYNC110 - polls the DB
                await asyncio.sleep(0.05)
    except TimeoutError:
        states = [(j.id, j.kind, j.status, j.attempts, j.last_error) for j in jobs]
        msg = f"outbox jobs never got there: {states}"
        raise AssertionError(msg) from None
    return jobs


def all_settled(jobs: list[OutboxJob]) -> bool:
    return bool(jobs) and all(j.status in ("done", "failed", "cancelled") for j in jobs)


class WallClock(FakeClock):
    """Real time: leases expire and retries come due by themselves."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def fast_outbox(world: BotWorld, **overrides: Any) -> None:
    """Retries within tenths of a second and short leases, for the API ``world`` runs."""
    state = world.app.state.api
    values = {
        "outbox_retry_base_seconds": 0.05,
        "outbox_retry_max_seconds": 0.2,
        "outbox_lease_seconds": 2.0,
        "outbox_max_attempts": 5,
    }
    state.settings = state.settings.model_copy(update=values | overrides)


WorkerFactory = Callable[..., Awaitable[OutboxWorker]]
