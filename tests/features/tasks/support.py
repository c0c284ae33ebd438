"""Helpers of the tasks tests: committed service calls and snapshots proving "nothing changed"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from guildbank.features.tasks import admin as task_admin
from guildbank.features.tasks import service as task_service
from guildbank.features.tasks.schemas import MemberTaskOut, TaskOut
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.models.tasks import MemberTask, Task, TaskSettings
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import GuildMoney, guild_money, member

ALICE, BOB, CAROL, MOD = member(1), member(2), member(3), member(9)


def channel(n: int) -> str:
    return str(700000000000000000 + n)


def role(n: int) -> str:
    return str(800000000000000000 + n)


async def make_task(
    services: Services, guild_id: str, name: str = "Welcome", **fields: Any
) -> TaskOut:
    fields.setdefault("reward", 100)
    async with unit_of_work(services) as uow:
        view = await task_admin.create_task(uow, guild_id=guild_id, name=name, **fields)
        await uow.commit()
    return view


async def claim(services: Services, guild_id: str, task_id: int, user_id: str) -> MemberTaskOut:
    async with unit_of_work(services) as uow:
        view = await task_service.claim_task(
            uow, guild_id=guild_id, task_id=task_id, user_id=user_id
        )
        await uow.commit()
    return view


async def submit(
    services: Services,
    guild_id: str,
    task_id: int,
    user_id: str,
    proof: str | None = "done",
    attachments: list[str] | None = None,
) -> MemberTaskOut:
    async with unit_of_work(services) as uow:
        view = await task_service.submit_proof(
            uow,
            guild_id=guild_id,
            task_id=task_id,
            user_id=user_id,
            proof=proof,
            attachments=attachments,
        )
        await uow.commit()
    return view


async def review(
    services: Services,
    guild_id: str,
    task_id: int,
    user_id: str,
    *,
    accept: bool,
    reviewer_id: str = MOD,
    reason: str | None = None,
) -> MemberTaskOut:
    async with unit_of_work(services) as uow:
        view = await task_service.review_task(
            uow,
            guild_id=guild_id,
            task_id=task_id,
            user_id=user_id,
            accept=accept,
            reviewer_id=reviewer_id,
            reason=reason,
        )
        await uow.commit()
    return view


async def abandon(services: Services, guild_id: str, task_id: int, user_id: str) -> MemberTaskOut:
    async with unit_of_work(services) as uow:
        view = await task_service.abandon_task(
            uow, guild_id=guild_id, task_id=task_id, user_id=user_id
        )
        await uow.commit()
    return view


async def set_settings(services: Services, guild_id: str, **changes: Any) -> None:
    async with unit_of_work(services) as uow:
        await task_admin.update_settings(uow, guild_id=guild_id, changes=changes)
        await uow.commit()


@dataclass(frozen=True)
class TaskState:
    """Everything a task write could change, to prove that a refusal changed nothing."""

    money: GuildMoney
    tasks: tuple[tuple[Any, ...], ...]
    claims: tuple[tuple[Any, ...], ...]
    settings: tuple[tuple[Any, ...], ...]
    jobs: int


async def task_state(services: Services, guild_id: str) -> TaskState:
    async with unit_of_work(services, read_only=True) as uow:
        s = uow.session
        tasks = (await s.execute(select(*list(Task.__table__.c)).order_by(Task.id))).all()
        claims = (
            await s.execute(select(*list(MemberTask.__table__.c)).order_by(MemberTask.id))
        ).all()
        settings = (await s.execute(select(*list(TaskSettings.__table__.c)))).all()
        jobs = (await s.execute(select(func.count()).select_from(OutboxJob))).scalar_one()
    return TaskState(
        await guild_money(services, guild_id),
        tuple(tuple(r) for r in tasks),
        tuple(tuple(r) for r in claims),
        tuple(tuple(r) for r in settings),
        jobs,
    )


async def rewards(services: Services, guild_id: str) -> int:
    """How many task_reward transactions the guild's ledger holds."""
    async with unit_of_work(services, read_only=True) as uow:
        return (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild_id,
                    LedgerTransaction.type == "task_reward",
                )
            )
        ).scalar_one()


async def jobs(services: Services, guild_id: str, *, kind: str | None = None) -> list[OutboxJob]:
    async with unit_of_work(services, read_only=True) as uow:
        query = select(OutboxJob).where(OutboxJob.guild_id == guild_id).order_by(OutboxJob.id)
        if kind is not None:
            query = query.where(OutboxJob.kind == kind)
        return list((await uow.session.execute(query)).scalars())
