"""A cleanup racing transfers and dailies of the very members it cleans up (real parallel
connections on PostgreSQL; SQLite's single writer queues them): no money is lost or made,
no balance goes negative, each cleanup transaction takes exactly the balance its member held
at that moment, and the ledger stays consistent."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from guildbank.core.errors import GuildbankError
from guildbank.features.economy import service as economy
from guildbank.features.members import service
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import fund, member
from tests.features.members.helpers import integrity_ok, leave, member_money

MEMBERS = 30
GONE = range(1, 16)  # members 1-15 left long ago; 16-30 stay


async def _in_unit(services: Services, work: Callable[[Any], Awaitable[Any]]) -> Any:
    async with unit_of_work(services) as uow:
        result = await work(uow)
        await uow.commit()
    return result


async def test_a_cleanup_racing_transfers_and_dailies_loses_nothing(
    services: Services, guild: str, clock: FakeClock, backend: str
) -> None:
    for n in range(1, MEMBERS + 1):
        await fund(services, guild, member(n), 100)
    for n in GONE:
        await leave(services, guild, member(n))
    clock.advance(days=31)
    money_before = await member_money(services, guild)
    rng = random.Random(15)
    clients = 24 if backend == "postgres" else 6
    transfers = 240 if backend == "postgres" else 60

    async def transfer(_: int) -> int:
        giver, receiver = rng.sample(range(1, MEMBERS + 1), 2)
        amount = rng.randint(1, 60)
        try:
            await _in_unit(
                services,
                lambda uow: economy.transfer(
                    uow,
                    guild_id=guild,
                    giver_id=member(giver),
                    receiver_id=member(receiver),
                    amount=amount,
                ),
            )
        except GuildbankError:
            return 0
        return 0  # transfers move money between members: no change to their total

    async def daily(n: int) -> int:
        try:
            paid = await _in_unit(
                services, lambda uow: economy.claim_daily(uow, guild_id=guild, user_id=member(n))
            )
        except GuildbankError:
            return 0
        return int(paid.awarded)

    async def clean(_: int) -> int:
        result = await _in_unit(
            services,
            lambda uow: service.cleanup(uow, guild_id=guild, days=30, dry_run=False),
        )
        return -int(result.amount)

    jobs: list[Callable[[], Awaitable[int]]] = []
    jobs += [lambda i=i: transfer(i) for i in range(transfers)]  # type: ignore[misc]
    jobs += [lambda n=n: daily(n) for n in GONE for _ in range(2)]  # type: ignore[misc]
    jobs += [lambda i=i: clean(i) for i in range(4)]  # type: ignore[misc]
    rng.shuffle(jobs)
    queue = iter(jobs)
    gate = asyncio.Event()

    async def worker() -> list[int]:
        await gate.wait()
        return [await job() for job in queue]  # the workers share the queue

    tasks = [asyncio.create_task(worker()) for _ in range(clients)]
    gate.set()
    changes = [change for done in await asyncio.gather(*tasks) for change in done]
    # Whatever a departed member received after the last cleanup, one more sweeps it up.
    changes.append(await clean(0))

    assert len(changes) == len(jobs) + 1
    assert await member_money(services, guild) == money_before + sum(changes)
    assert await integrity_ok(services, guild)
    async with unit_of_work(services, read_only=True) as uow:
        balances = dict(
            (
                await uow.session.execute(
                    select(Account.user_id, Account.balance).where(
                        Account.guild_id == guild, ~Account.is_system
                    )
                )
            ).all()
        )
        swept = (
            await uow.session.execute(
                select(LedgerEntry.balance_after, LedgerEntry.amount)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .join(Account, Account.id == LedgerEntry.account_id)
                .where(LedgerTransaction.type == "cleanup", ~Account.is_system)
            )
        ).all()
    assert min(balances.values()) >= 0
    assert all(balances[member(n)] == 0 for n in GONE)
    assert swept  # the cleanups took money...
    assert all(after == 0 and amount < 0 for after, amount in swept)  # ...all of it, each time
