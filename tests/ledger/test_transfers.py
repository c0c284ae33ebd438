"""A transfer stores the same things whichever path it takes: on PostgreSQL between known
members one statement (``guildbank_transfer``), otherwise (a new member, SQLite) the unit of
work's transaction. Both store the ``transfer`` event, the ``role.grant`` jobs and their
``outbox.ready`` event, and the Idempotency-Key's record, and answer a repeat alike."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from guildbank.core.errors import IdempotencyKeyReused
from guildbank.core.limits import MAX_AMOUNT
from guildbank.features.economy import service as economy
from guildbank.features.economy.schemas import TransferOut
from guildbank.ledger.errors import BalanceLimit, InsufficientBalance
from guildbank.platform.idempotency import IdempotentRequest, Replayed
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.models.ledger import Account
from guildbank.platform.models.outbox import OutboxJob
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import START
from tests.factories import configure, fund, guild_money, member, open_account

GIVER, RECEIVER = member(1), member(2)
LOW, HIGH = "500000000000000001", "500000000000000002"
BODY = b'{"giver_id": "%s", "receiver_id": "%s", "amount": 200}' % (
    GIVER.encode(),
    RECEIVER.encode(),
)


def keyed(guild: str, body: bytes = BODY, key: str = "k-1") -> IdempotentRequest:
    return IdempotentRequest.of(
        owner=7,
        key=key,
        guild_id=guild,
        method="POST",
        path=f"/api/guilds/{guild}/bytes/transactions",
        body=body,
    )


async def transfer(
    services: Services, guild: str, amount: int = 200, request: IdempotentRequest | None = None
) -> TransferOut:
    async with unit_of_work(services) as uow:
        result = await economy.transfer(
            uow,
            guild_id=guild,
            giver_id=GIVER,
            receiver_id=RECEIVER,
            amount=amount,
            reason="thanks",
            keyed=request,
        )
        await uow.commit()
    return result


async def stored(services: Services) -> tuple[list[Any], list[Any], list[Any]]:
    """(events, outbox jobs, idempotency records) as rows."""
    async with unit_of_work(services, read_only=True) as uow:
        events = (
            await uow.session.execute(
                select(EventLogEntry.name, EventLogEntry.data, EventLogEntry.created_at)
                .where(EventLogEntry.name.in_(["transfer", "outbox.ready"]))
                .order_by(EventLogEntry.id)
            )
        ).all()
        jobs = (
            await uow.session.execute(
                select(
                    OutboxJob.kind, OutboxJob.payload, OutboxJob.dedupe_key, OutboxJob.status
                ).order_by(OutboxJob.id)
            )
        ).all()
        records = (await uow.session.execute(select(IdempotencyRecord))).scalars().all()
    return list(events), list(jobs), list(records)


@pytest.fixture(params=["one statement", "transaction"])
async def path(request: pytest.FixtureRequest, services: Services, guild: str) -> str:
    """Which way the transfer goes on PostgreSQL: the receiver is known (one statement) or
    new (opened in the unit's transaction). SQLite always takes the transaction."""
    await configure(services, guild, role_rewards={LOW: 50, HIGH: 150})
    await fund(services, guild, GIVER, 500)
    if request.param == "one statement":
        await open_account(services, guild, RECEIVER)
    return str(request.param)


async def test_a_transfer_stores_its_event_role_jobs_and_key_record(
    services: Services, guild: str, path: str
) -> None:
    request = keyed(guild)
    result = await transfer(services, guild, request=request)
    assert result.roles_earned == [LOW, HIGH]  # 200 received crosses both
    events, jobs, records = await stored(services)
    assert [(name, data) for name, data, _ in events] == [
        (
            "transfer",
            {
                "transaction_id": result.id,
                "giver_id": GIVER,
                "receiver_id": RECEIVER,
                "amount": 200,
                "reason": "thanks",
                "giver_balance": 300,
                "receiver_balance": 300,
                "roles_earned": [LOW, HIGH],
            },
        ),
        ("outbox.ready", {"job_id": events[1][1]["job_id"], "kind": "role.grant"}),
    ]
    assert {created.replace(tzinfo=START.tzinfo) for _, _, created in events} == {START}
    reason = economy.ROLE_REWARD_REASON
    assert jobs == [
        (
            "role.grant",
            {"user_id": RECEIVER, "role_id": role, "reason": reason},
            f"role.grant:{RECEIVER}:{role}",
            "pending",
        )
        for role in (LOW, HIGH)
    ]
    [record] = records
    assert (record.api_key_id, record.key, record.guild_id) == (7, "k-1", guild)
    assert (record.method, record.path, record.fingerprint) == (
        request.method,
        request.path,
        request.fingerprint,
    )
    assert record.request == {"giver_id": GIVER, "receiver_id": RECEIVER, "amount": 200}
    assert record.status_code == 200
    assert record.created_at.replace(tzinfo=START.tzinfo) == START
    assert TransferOut.model_validate(record.body) == result


async def test_a_repeat_replays_the_first_response_and_moves_nothing(
    services: Services, guild: str, path: str
) -> None:
    first = await transfer(services, guild, request=keyed(guild))
    before = await guild_money(services, guild)
    # The same request, re-serialised: another key order, other whitespace.
    again = keyed(
        guild,
        b'{"amount":200,"receiver_id":"%s","giver_id":"%s"}' % (RECEIVER.encode(), GIVER.encode()),
    )
    with pytest.raises(Replayed) as replayed:
        await transfer(services, guild, request=again)
    assert replayed.value.stored.status_code == 200
    assert TransferOut.model_validate(replayed.value.stored.body) == first
    assert await guild_money(services, guild) == before
    events, jobs, records = await stored(services)
    assert (len(events), len(jobs), len(records)) == (2, 2, 1)


async def test_a_key_used_for_another_request_is_refused_naming_the_field(
    services: Services, guild: str, path: str
) -> None:
    await transfer(services, guild, request=keyed(guild))
    before = await guild_money(services, guild)
    other = keyed(guild, BODY.replace(b"200", b"201"))
    with pytest.raises(IdempotencyKeyReused) as refused:
        await transfer(services, guild, amount=201, request=other)
    assert refused.value.fields == {"differences": ["body.amount"]}
    assert await guild_money(services, guild) == before


async def test_an_overdraft_is_refused_with_the_givers_balance_and_stores_nothing(
    services: Services, guild: str, path: str
) -> None:
    before = await guild_money(services, guild)
    with pytest.raises(InsufficientBalance) as refused:
        await transfer(services, guild, amount=501, request=keyed(guild))
    assert refused.value.fields == {"available": 500, "needed": 501}
    assert await guild_money(services, guild) == before
    assert await stored(services) == ([], [], [])


async def test_a_balance_beyond_the_bound_is_refused_by_name_on_either_path(
    services: Services, guild: str
) -> None:
    """A refusal the one statement does not name itself leaves the transfer to the
    transactional path, which names it; nothing is stored either way."""
    await fund(services, guild, GIVER, 1000)
    await open_account(services, guild, RECEIVER)
    async with unit_of_work(services) as uow:  # a receiver at the bound (no ledger needed)
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild, Account.user_id == RECEIVER)
            .values(balance=MAX_AMOUNT)
        )
        await uow.commit()
    before = await guild_money(services, guild)
    with pytest.raises(BalanceLimit):
        await transfer(services, guild, amount=1, request=keyed(guild))
    assert await guild_money(services, guild) == before
    assert await stored(services) == ([], [], [])
