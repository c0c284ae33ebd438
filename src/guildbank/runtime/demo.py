"""A demo guild with members and history, so a newcomer sees something real."""

from __future__ import annotations

import random
from dataclasses import dataclass

from guildbank.core.errors import GuildbankError
from guildbank.features.economy import service as economy
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["DEMO_GUILD_ID", "DemoSummary", "fill_demo_guild"]

DEMO_GUILD_ID = "100000000000000001"
DEMO_MEMBERS = tuple(str(200000000000000000 + i) for i in range(1, 13))


@dataclass(frozen=True, slots=True)
class DemoSummary:
    guild_id: str
    members: int
    transfers: int
    refused: int


async def fill_demo_guild(services: Services, *, transfers: int = 60, seed: int = 7) -> DemoSummary:
    """Register the demo guild, pay every member a daily and make random transfers."""
    rng = random.Random(seed)
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=DEMO_GUILD_ID, name="guildbank demo")
        await update_config(uow, guild_id=DEMO_GUILD_ID, changes={"rate_limit_per_minute": 0})
        await uow.commit()
    for member in DEMO_MEMBERS:
        async with unit_of_work(services) as uow:
            try:
                await economy.claim_daily(uow, guild_id=DEMO_GUILD_ID, user_id=member)
                await uow.commit()
            except GuildbankError:
                pass  # already claimed today: the demo was filled before
    done = refused = 0
    for _ in range(transfers):
        giver, receiver = rng.sample(DEMO_MEMBERS, 2)
        async with unit_of_work(services) as uow:
            try:
                await economy.transfer(
                    uow,
                    guild_id=DEMO_GUILD_ID,
                    giver_id=giver,
                    receiver_id=receiver,
                    amount=rng.randint(1, 60),
                    reason=rng.choice(["thanks!", "lunch", "gg", None]),
                )
                await uow.commit()
                done += 1
            except GuildbankError:
                refused += 1
    return DemoSummary(DEMO_GUILD_ID, len(DEMO_MEMBERS), done, refused)
