"""An export taken while transfers keep committing is one consistent snapshot: it loads (the
loader refuses any balance that its entries do not explain) with a clean ledger."""

from __future__ import annotations

import asyncio
import random

import orjson
from sqlalchemy import delete, select

from guildbank.core.errors import GuildbankError
from guildbank.platform.models.guilds import Guild
from guildbank.platform.models.ledger import LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import fund, member, send
from tests.features.backup.support import export_bytes, integrity_problems, load_bytes

MEMBERS = 10
OTHER_GUILD = "100000000000000999"


async def test_an_export_during_transfers_is_one_consistent_snapshot(
    services: Services, guild: str
) -> None:
    for n in range(MEMBERS):
        await fund(services, guild, member(n), 300)
    stop = asyncio.Event()
    sent = 0

    async def sender(seed: int) -> None:
        nonlocal sent
        rng = random.Random(seed)
        while not stop.is_set():
            giver, receiver = rng.sample(range(MEMBERS), 2)
            try:
                await send(services, guild, member(giver), member(receiver), rng.randint(1, 50))
                sent += 1
            except GuildbankError:  # unaffordable: refused, nothing written
                pass

    senders = [asyncio.create_task(sender(seed)) for seed in range(4)]
    try:
        exports, raced = [], 0
        for _ in range(3):
            before = sent
            exports.append(await export_bytes(services, guild))
            raced += sent > before  # transfers committed while this export was read
    finally:
        stop.set()
        await asyncio.gather(*senders)
    assert raced > 0
    for raw in exports:
        document = orjson.loads(raw)
        document["guild_id"] = document["tables"]["guilds"][0]["id"] = OTHER_GUILD
        await load_bytes(services, orjson.dumps(document))
        assert await integrity_problems(services, OTHER_GUILD) == []
        exported = {row["user_id"]: row["balance"] for row in document["tables"]["accounts"]}
        loaded = orjson.loads(await export_bytes(services, OTHER_GUILD))["tables"]["accounts"]
        assert {row["user_id"]: row["balance"] for row in loaded} == exported
        await _forget(services)


async def _forget(services: Services) -> None:
    """Remove the loaded copy (so the next export loads under the same id)."""
    async with unit_of_work(services) as uow:
        ids = select(LedgerTransaction.id).where(LedgerTransaction.guild_id == OTHER_GUILD)
        await uow.session.execute(delete(LedgerEntry).where(LedgerEntry.transaction_id.in_(ids)))
        await uow.session.execute(
            delete(LedgerTransaction).where(LedgerTransaction.guild_id == OTHER_GUILD)
        )
        await uow.session.execute(delete(Guild).where(Guild.id == OTHER_GUILD))
        await uow.commit()
