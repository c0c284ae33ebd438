"""A first end-to-end check of the service layer on both backends."""

from __future__ import annotations

from guildbank.features.economy import service as economy
from guildbank.ledger import integrity
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import member


async def test_first_daily_pays_starting_balance_plus_daily(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        result = await economy.claim_daily(uow, guild_id=guild, user_id=member(1))
        await uow.commit()
    assert result.balance == 110
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild)
    assert report.ok, report.problems
