"""Test helpers of the members tools: members leaving and coming back, cleanups and resets
through the real services, the guild's integrity."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select

from guildbank.features.economy.membership import set_member_active
from guildbank.features.members import service
from guildbank.features.members.schemas import CleanupOut, ResetOut
from guildbank.ledger import integrity
from guildbank.platform.models.ledger import Account, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work


async def set_active(services: Services, guild_id: str, user_id: str, *, active: bool) -> bool:
    async with unit_of_work(services) as uow:
        known = await set_member_active(uow, guild_id=guild_id, user_id=user_id, active=active)
        await uow.commit()
    return known


async def leave(services: Services, guild_id: str, user_id: str) -> None:
    assert await set_active(services, guild_id, user_id, active=False)


async def cleanup(
    services: Services, guild_id: str, days: int, *, dry_run: bool, actor_id: str | None = None
) -> CleanupOut:
    async with unit_of_work(services) as uow:
        result = await service.cleanup(
            uow, guild_id=guild_id, days=days, dry_run=dry_run, actor_id=actor_id
        )
        await uow.commit()
    return result


async def reset(services: Services, guild_id: str, *, confirm: str = "RESET") -> ResetOut:
    async with unit_of_work(services) as uow:
        result = await service.reset_economy(
            uow, guild_id=guild_id, confirm=confirm, actor_id="local:admin"
        )
        await uow.commit()
    return result


async def name(services: Services, guild_id: str, names: Mapping[str, str]) -> int:
    async with unit_of_work(services) as uow:
        changed = await service.remember_names(uow, guild_id=guild_id, names=names)
        await uow.commit()
    return changed


async def integrity_ok(services: Services, guild_id: str) -> bool:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.problems == [], report.problems
    assert report.total == 0
    return report.ok


async def type_counts(services: Services, guild_id: str) -> dict[str, int]:
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(
                select(LedgerTransaction.type, func.count())
                .where(LedgerTransaction.guild_id == guild_id)
                .group_by(LedgerTransaction.type)
            )
        ).all()
    return {str(kind): int(count) for kind, count in rows}


async def member_money(services: Services, guild_id: str) -> int:
    """What every member of the guild holds together."""
    async with unit_of_work(services, read_only=True) as uow:
        return int(
            (
                await uow.session.execute(
                    select(func.coalesce(func.sum(Account.balance), 0)).where(
                        Account.guild_id == guild_id, ~Account.is_system
                    )
                )
            ).scalar_one()
        )


async def streak_of(services: Services, guild_id: str, user_id: str) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return int(
            (
                await uow.session.execute(
                    select(Account.streak_count).where(
                        Account.guild_id == guild_id, Account.user_id == user_id
                    )
                )
            ).scalar_one()
        )
