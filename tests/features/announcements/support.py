"""Helpers of the announcements tests: outbox jobs written, snapshots of this feature's rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.models.announcements import (
    Announcement,
    CustomCommand,
    EmbedTemplate,
    OperatorSetting,
)
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import Services, unit_of_work

CHANNEL = "700000000000000001"
OTHER_CHANNEL = "700000000000000002"


async def jobs(services: Services, guild_id: str) -> list[dict[str, Any]]:
    """The guild's outbox jobs, oldest first."""
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(OutboxJob).where(OutboxJob.guild_id == guild_id).order_by(OutboxJob.id)
            )
        ).scalars()
        return [
            {"kind": r.kind, "key": r.dedupe_key, "payload": r.payload, "status": r.status}
            for r in rows
        ]


async def snapshot(services: Services) -> tuple[Any, ...]:
    """Everything this feature's writes change (to prove a refusal changed nothing)."""
    async with unit_of_work(services, read_only=True) as uow:
        counted = [
            (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (EmbedTemplate, Announcement, CustomCommand, OutboxJob, IdempotencyRecord)
        ]
        rows = (
            await uow.session.execute(
                select(
                    Announcement.id, Announcement.status, Announcement.content, Announcement.version
                )
            )
        ).all()
        settings = (
            await uow.session.execute(select(OperatorSetting.name, OperatorSetting.version))
        ).all()
        return (*counted, sorted(map(tuple, rows)), sorted(map(tuple, settings)))
