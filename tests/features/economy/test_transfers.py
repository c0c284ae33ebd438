"""Transfers between members through the service layer (SPEC §4.3), on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from guildbank.core.errors import InvalidInput, RateLimited
from guildbank.features.economy import queries as reports
from guildbank.features.economy import service as economy
from guildbank.features.economy.errors import CooldownActive
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.ledger.errors import InsufficientBalance
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import START, FakeClock
from tests.factories import (
    balance_view,
    claim,
    configure,
    fund,
    guild_money,
    member,
    open_account,
    send,
)

GIVER, RECEIVER = member(1), member(2)


async def test_transfer_moves_bytes_and_opens_the_receivers_account(
    services: Services, guild: str
) -> None:
    await fund(services, guild, GIVER, 500)
    result = await send(services, guild, GIVER, RECEIVER, 100, reason="thanks")
    assert (result.giver_balance, result.receiver_balance) == (400, 200)
    assert (result.amount, result.reason, result.type) == (100, "thanks", "transfer")
    assert result.created_at.replace(tzinfo=START.tzinfo) == START
    money = await guild_money(services, guild)
    assert money.accounts[GIVER] == (400, 0, 100)
    assert money.accounts[RECEIVER] == (200, 100, 0)
    async with unit_of_work(services, read_only=True) as uow:
        view = await reports.get_transaction(uow, guild_id=guild, transaction_id=result.id)
    assert (view.type, view.amount, view.reason, view.actor_id) == (
        "transfer",
        100,
        "thanks",
        GIVER,
    )
    assert sorted(
        (e.user_id, e.amount, e.balance_before, e.balance_after) for e in view.entries
    ) == [
        (GIVER, -100, 500, 400),
        (RECEIVER, 100, 100, 200),
    ]


async def test_whole_balance_can_be_sent(services: Services, guild: str) -> None:
    await open_account(services, guild, GIVER)
    result = await send(services, guild, GIVER, RECEIVER, 100)
    assert (result.giver_balance, result.receiver_balance) == (0, 200)


async def test_insufficient_balance_is_refused_and_changes_nothing(
    services: Services, guild: str
) -> None:
    await fund(services, guild, GIVER, 40)
    await open_account(services, guild, RECEIVER)
    before = await guild_money(services, guild)
    with pytest.raises(InsufficientBalance) as caught:
        await send(services, guild, GIVER, RECEIVER, 100)
    assert caught.value.code == "insufficient_balance"
    assert caught.value.fields == {"available": 40, "needed": 100}
    assert "insufficient balance" in caught.value.message
    assert "You have 40 bytes; you tried to send 100" in caught.value.message
    assert await guild_money(services, guild) == before


async def test_insufficient_balance_of_a_new_giver_creates_nothing(
    services: Services, guild: str
) -> None:
    before = await guild_money(services, guild)
    with pytest.raises(InsufficientBalance) as caught:
        await send(services, guild, GIVER, RECEIVER, 101)
    assert caught.value.fields == {"available": 100, "needed": 101}
    assert await guild_money(services, guild) == before
    assert not (await balance_view(services, guild, GIVER)).exists


async def test_session_stays_usable_after_a_refused_transfer(
    services: Services, guild: str
) -> None:
    await fund(services, guild, GIVER, 50)
    async with unit_of_work(services) as uow:
        with pytest.raises(InsufficientBalance):
            await economy.transfer(
                uow, guild_id=guild, giver_id=GIVER, receiver_id=RECEIVER, amount=60
            )
        result = await economy.transfer(
            uow, guild_id=guild, giver_id=GIVER, receiver_id=RECEIVER, amount=50
        )
        await uow.commit()
    assert (result.giver_balance, result.receiver_balance) == (0, 150)


@pytest.mark.parametrize(
    ("giver", "receiver", "amount", "reason", "code"),
    [
        (GIVER, GIVER, 10, None, "self_transfer"),
        (GIVER, RECEIVER, 0, None, "invalid_amount"),
        (GIVER, RECEIVER, -10, None, "invalid_amount"),
        (GIVER, RECEIVER, 1001, None, "amount_over_limit"),
        (GIVER, RECEIVER, 10, "x" * 201, "reason_too_long"),
        (GIVER, "not-a-user", 10, None, "invalid_id"),
        (GIVER, "0123", 10, None, "invalid_id"),
        (GIVER, "9" * 20, 10, None, "invalid_id"),
        ("<@300000000000000001>", RECEIVER, 10, None, "invalid_id"),
        ("", RECEIVER, 10, None, "invalid_id"),
    ],
)
async def test_invalid_transfers_are_refused_and_write_nothing(
    services: Services,
    guild: str,
    giver: str,
    receiver: str,
    amount: int,
    reason: str | None,
    code: str,
) -> None:
    await fund(services, guild, GIVER, 5000)
    before = await guild_money(services, guild)
    with pytest.raises(InvalidInput) as caught:
        await send(services, guild, giver, receiver, amount, reason=reason)
    assert caught.value.code == code
    assert await guild_money(services, guild) == before


async def test_max_transfer_is_the_guilds_setting(services: Services, guild: str) -> None:
    await fund(services, guild, GIVER, 5000)
    await configure(services, guild, max_transfer=2000)
    assert (await send(services, guild, GIVER, RECEIVER, 2000)).giver_balance == 3000
    with pytest.raises(InvalidInput) as caught:
        await send(services, guild, GIVER, RECEIVER, 2001)
    assert caught.value.fields == {"max_transfer": 2000, "amount": 2001}


async def test_transfer_in_an_unknown_guild_is_refused(services: Services) -> None:
    with pytest.raises(GuildNotFound) as caught:
        await send(services, "999999999999999999", GIVER, RECEIVER, 10)
    assert caught.value.code == "guild_not_found"


async def test_cooldown_refuses_a_second_transfer_until_it_expires(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await configure(services, guild, transfer_cooldown_hours=1)
    await fund(services, guild, GIVER, 500)
    await send(services, guild, GIVER, RECEIVER, 10)

    clock.advance(minutes=30)
    before = await guild_money(services, guild)
    with pytest.raises(CooldownActive) as caught:
        await send(services, guild, GIVER, member(3), 10)
    assert caught.value.code == "transfer_cooldown"
    assert caught.value.fields == {"retry_after_seconds": 1800}
    assert await guild_money(services, guild) == before

    # Receiving is not sending: the receiver is not on cooldown.
    assert (await send(services, guild, RECEIVER, GIVER, 5)).giver_balance == 105

    clock.advance(minutes=30)
    assert (await send(services, guild, GIVER, member(3), 10)).giver_balance == 485


async def test_a_refused_transfer_does_not_start_the_cooldown(
    services: Services, guild: str
) -> None:
    await configure(services, guild, transfer_cooldown_hours=1)
    await fund(services, guild, GIVER, 50)
    with pytest.raises(InsufficientBalance):
        await send(services, guild, GIVER, RECEIVER, 60)
    assert (await send(services, guild, GIVER, RECEIVER, 50)).giver_balance == 0


async def test_without_cooldown_transfers_follow_each_other(services: Services, guild: str) -> None:
    await fund(services, guild, GIVER, 500)
    for _ in range(3):
        await send(services, guild, GIVER, RECEIVER, 10)
    assert (await guild_money(services, guild)).balance(GIVER) == 470


async def test_role_reward_is_reported_once_when_received_crosses_it(
    services: Services, guild: str
) -> None:
    low, high = "500000000000000001", "500000000000000002"
    await configure(services, guild, role_rewards={low: 50, high: 150})
    await fund(services, guild, GIVER, 1000)
    assert (await send(services, guild, GIVER, RECEIVER, 49)).roles_earned == []
    assert (await send(services, guild, GIVER, RECEIVER, 1)).roles_earned == [low]
    assert (await send(services, guild, GIVER, RECEIVER, 50)).roles_earned == []
    assert (await send(services, guild, GIVER, RECEIVER, 100)).roles_earned == [high]
    assert (await send(services, guild, GIVER, RECEIVER, 500)).roles_earned == []
    # A big jump for a fresh member crosses both at once, lowest threshold first.
    assert (await send(services, guild, GIVER, member(3), 200)).roles_earned == [low, high]


async def test_giving_back_does_not_count_toward_the_givers_roles(
    services: Services, guild: str
) -> None:
    role = "500000000000000001"
    await configure(services, guild, role_rewards={role: 10})
    await fund(services, guild, GIVER, 1000)  # an admin adjustment does not count as received
    result = await send(services, guild, GIVER, RECEIVER, 10)
    assert result.roles_earned == [role]
    assert (await guild_money(services, guild)).accounts[GIVER] == (990, 0, 10)


async def test_the_service_enforces_the_balance_change_rate_limit(
    services: Services, guild: str
) -> None:
    """Every caller is limited, not only the API; a member's dailies and transfers share one
    budget, and a refused transfer moves nothing."""
    await configure(services, guild, rate_limit_per_minute=2)
    await claim(services, guild, GIVER)
    await send(services, guild, GIVER, RECEIVER, 1)
    before = await guild_money(services, guild)
    with pytest.raises(RateLimited) as caught:
        await send(services, guild, GIVER, RECEIVER, 1)
    assert caught.value.code == "rate_limited"
    assert caught.value.fields["retry_after_seconds"] >= 1
    assert await guild_money(services, guild) == before
    await send(services, guild, RECEIVER, GIVER, 1)  # the receiver's budget is their own


class CountingPool:
    """The driver pool, counting its statements (asyncpg's Pool has fixed slots)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.statements = 0

    async def fetch(self, *args: Any) -> Any:
        self.statements += 1
        return await self.pool.fetch(*args)


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
async def test_a_transfer_between_known_members_keeps_its_round_trips(
    services: Services, guild: str, backend: str, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    """The benchmarked path, with or without an Idempotency-Key: on PostgreSQL one
    autocommitted statement on the driver pool and nothing through the ORM (the statement
    stores the event and the key's record too); on SQLite one transaction."""
    await send(services, guild, GIVER, RECEIVER, 1)  # opens both accounts, fills the caches
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    counting = CountingPool(await services.standalone_pool())
    if services.driver_pool is not None:

        async def get() -> CountingPool:
            return counting

        monkeypatch.setattr(services.driver_pool, "get", get)
    await services.relay.close()  # the relay's statements are not the transfer's
    monkeypatch.setattr(services.relay, "nudge", lambda: None)
    request = IdempotentRequest.of(
        owner=1, key="k", guild_id=guild, method="POST", path="/transfer", body=b"{}"
    )
    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with unit_of_work(services) as uow:
            await economy.transfer(
                uow,
                guild_id=guild,
                giver_id=GIVER,
                receiver_id=RECEIVER,
                amount=1,
                keyed=request if keyed else None,
            )
            await uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if backend == "postgres":
        assert (counting.statements, statements) == (1, [])
    else:
        # BEGIN IMMEDIATE, (the key's look-up), two balance updates, the transaction row, its
        # entries, (the key's record), the event.
        assert (counting.statements, len(statements)) == (0, 8 if keyed else 6), statements
