"""Plain-function factories for test data, written through the real services."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from guildbank.db.models import Account
from guildbank.services import economy
from guildbank.services.accounts import ensure_account
from guildbank.services.guilds import get_config
from guildbank.services.uow import Services, unit_of_work


def member(n: int) -> str:
    """The n-th test member's Discord id."""
    return str(300000000000000000 + n)


async def open_account(services: Services, guild_id: str, user_id: str) -> int:
    async with unit_of_work(services) as uow:
        account = await ensure_account(uow, guild_id, user_id, await get_config(uow, guild_id))
        await uow.commit()
    return account


async def fund(services: Services, guild_id: str, user_id: str, balance: int) -> None:
    """Give a member exactly ``balance`` through an admin adjustment (a real ledger posting)."""
    async with unit_of_work(services) as uow:
        await economy.adjust_balance(uow, guild_id=guild_id, user_id=user_id, action="set",
                                     amount=balance, reason="test funding", actor_id=None)
        await uow.commit()


async def set_streak(
    services: Services, guild_id: str, user_id: str, *, streak: int, last_daily: date
) -> None:
    """Pretend the member has claimed for ``streak`` days up to ``last_daily``."""
    await open_account(services, guild_id, user_id)
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild_id, Account.user_id == user_id)
            .values(streak_count=streak, last_daily=last_daily)
        )
        await uow.commit()
