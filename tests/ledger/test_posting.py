"""The kernel's posting verbs on both backends: one refusal for an overdraft, one for a second
reversal, both told apart by constraint name; the standalone posting as the unit's only write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from guildbank.core.events import DomainEvent
from guildbank.features.economy import admin as economy_admin
from guildbank.ledger import posting
from guildbank.ledger.constraints import ONE_REVERSAL, OVERDRAFT, violated_constraint
from guildbank.ledger.errors import AlreadyReversed, InsufficientBalance
from guildbank.ledger.legs import reversal_legs, transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.ledger import Account, LedgerTransaction
from guildbank.platform.uow import Services, StandaloneWriteError, unit_of_work
from tests.factories import guild_money, member, open_account, send


@dataclass(frozen=True, slots=True, kw_only=True)
class Probed(DomainEvent):
    """A test-only event: what a unit of work publishes after its commit."""

    name: ClassVar[str] = "test.probed"
    transaction_id: int


async def accounts(services: Services, guild: str) -> tuple[int, int]:
    """Two members with the starting balance (100 each)."""
    return await open_account(services, guild, member(1)), await open_account(
        services, guild, member(2)
    )


async def test_an_overdraft_is_refused_in_the_payers_words_and_the_unit_stays_usable(
    services: Services, guild: str
) -> None:
    giver, receiver = await accounts(services, guild)
    before = await guild_money(services, guild)
    async with unit_of_work(services) as uow:
        with pytest.raises(InsufficientBalance) as caught:
            await posting.post(
                uow,
                guild_id=guild,
                type=TransactionType.TRANSFER,
                legs=transfer_legs(source=giver, target=receiver, amount=150),
                payer=posting.Payer(giver, "coins", 0, verb="move"),
            )
        assert caught.value.code == "insufficient_balance"
        assert caught.value.fields == {"available": 100, "needed": 150}
        assert caught.value.message == (
            "You have 100 coins; you tried to move 150 (insufficient balance)."
        )
        await posting.post(
            uow,
            guild_id=guild,
            type=TransactionType.TRANSFER,
            legs=transfer_legs(source=giver, target=receiver, amount=100),
        )
        await uow.commit()
    after = await guild_money(services, guild)
    assert (after.balance(member(1)), after.balance(member(2))) == (0, 200)
    assert after.transactions == before.transactions + 1


async def test_an_overdraft_nobody_pays_for_is_left_to_the_database_error(
    services: Services, guild: str
) -> None:
    giver, receiver = await accounts(services, guild)
    async with unit_of_work(services) as uow:
        with pytest.raises(IntegrityError) as caught:
            await posting.post(
                uow,
                guild_id=guild,
                type=TransactionType.TRANSFER,
                legs=transfer_legs(source=giver, target=receiver, amount=101),
            )
    assert violated_constraint(caught.value) == OVERDRAFT


async def test_a_second_reversal_is_refused_by_the_unique_index(
    services: Services, guild: str
) -> None:
    await accounts(services, guild)
    sent = await send(services, guild, member(1), member(2), 30)
    async with unit_of_work(services) as uow:
        await economy_admin.reverse_transaction(
            uow, guild_id=guild, transaction_id=sent.id, reason="first", actor_id=None
        )
        await uow.commit()
    giver, receiver = await accounts(services, guild)
    before = await guild_money(services, guild)
    # What a racing twin would post after both passed the "not yet reversed" read.
    async with unit_of_work(services) as uow:
        with pytest.raises(AlreadyReversed) as caught:
            await posting.post(
                uow,
                guild_id=guild,
                type=TransactionType.REVERSAL,
                legs=reversal_legs(TransactionType.TRANSFER, [(giver, -30), (receiver, 30)]),
                reverses_id=sent.id,
            )
        assert caught.value.fields == {"transaction_id": sent.id}
    assert await guild_money(services, guild) == before


async def test_constraint_names_are_the_same_on_both_backends(
    services: Services, guild: str
) -> None:
    giver, _ = await accounts(services, guild)
    sent = await send(services, guild, member(1), member(2), 5)
    refusals = {
        OVERDRAFT: update(Account).where(Account.id == giver).values(balance=-1),
        ONE_REVERSAL: update(LedgerTransaction)
        .where(LedgerTransaction.id != sent.id)
        .values(reverses_id=sent.id),
        "uq_accounts_guild_id": update(Account)
        .where(Account.id == giver)
        .values(user_id=member(2)),
    }
    for expected, statement in refusals.items():
        async with unit_of_work(services) as uow:
            with pytest.raises(IntegrityError) as caught:
                await uow.session.execute(statement)
        assert violated_constraint(caught.value) == expected
    async with unit_of_work(services) as uow:
        with pytest.raises(DBAPIError) as other:
            await uow.session.execute(text("SELECT * FROM no_such_table"))
    assert violated_constraint(other.value) is None


async def test_the_standalone_posting_is_the_units_only_write(
    services: Services, guild: str
) -> None:
    giver, receiver = await accounts(services, guild)
    await services.relay.drain()  # the accounts' opening events, published before ours
    async with unit_of_work(services) as uow:
        posted = await posting.post_standalone(
            uow,
            guild_id=guild,
            type=TransactionType.TRANSFER,
            legs=transfer_legs(source=giver, target=receiver, amount=40),
            actor_id=member(1),
        )
        uow.emit(Probed(guild_id=guild, transaction_id=posted.id))
        back = transfer_legs(source=receiver, target=giver, amount=1)
        with pytest.raises(StandaloneWriteError, match="already made its standalone write"):
            _ = uow.session
        with pytest.raises(StandaloneWriteError):
            await posting.post(uow, guild_id=guild, type=TransactionType.TRANSFER, legs=back)
        with pytest.raises(StandaloneWriteError):
            await posting.post_standalone(
                uow, guild_id=guild, type=TransactionType.TRANSFER, legs=back
            )
        with pytest.raises(StandaloneWriteError, match="no rollback"):
            await uow.rollback()
        async with services.bus.subscribe() as subscription:
            await uow.commit()
            assert (await subscription.queue.get()).data == {"transaction_id": posted.id}
    money = await guild_money(services, guild)
    assert (money.balance(member(1)), money.balance(member(2))) == (60, 140)


async def test_a_standalone_posting_is_refused_once_the_unit_began(
    services: Services, guild: str
) -> None:
    giver, receiver = await accounts(services, guild)
    before = await guild_money(services, guild)
    async with unit_of_work(services) as uow:
        await uow.session.execute(select(Account.id).where(Account.id == giver))
        with pytest.raises(StandaloneWriteError, match="already began"):
            await posting.post_standalone(
                uow,
                guild_id=guild,
                type=TransactionType.TRANSFER,
                legs=transfer_legs(source=giver, target=receiver, amount=10),
            )
        await uow.commit()
    assert await guild_money(services, guild) == before


async def test_a_refused_standalone_posting_leaves_the_unit_free_to_write(
    services: Services, guild: str
) -> None:
    giver, receiver = await accounts(services, guild)
    async with unit_of_work(services) as uow:
        with pytest.raises(InsufficientBalance) as caught:
            await posting.post_standalone(
                uow,
                guild_id=guild,
                type=TransactionType.TRANSFER,
                legs=transfer_legs(source=giver, target=receiver, amount=500),
                payer=posting.Payer(giver, "bytes", 100, verb="send"),
            )
        assert caught.value.fields == {"available": 100, "needed": 500}
        await posting.post(
            uow,
            guild_id=guild,
            type=TransactionType.TRANSFER,
            legs=transfer_legs(source=giver, target=receiver, amount=25),
        )
        await uow.commit()
    money = await guild_money(services, guild)
    assert (money.balance(member(1)), money.balance(member(2))) == (75, 125)
