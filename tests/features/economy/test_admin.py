"""Admin money tools: add / remove / set and reversals (SPEC §4.1, §4.6), on both backends."""

from __future__ import annotations

import pytest

from guildbank.core.errors import InvalidInput
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import queries as reports
from guildbank.features.economy.rules import AdjustAction
from guildbank.features.economy.schemas import AdjustOut, ReversalOut
from guildbank.features.guilds.service import register_guild
from guildbank.ledger import integrity
from guildbank.ledger.errors import AlreadyReversed, InsufficientBalance, TransactionNotFound
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID
from tests.factories import claim, fund, guild_money, member, open_account, send

ADMIN = member(99)


async def adjust(
    services: Services,
    guild_id: str,
    user_id: str,
    action: AdjustAction,
    amount: int,
    reason: str = "admin correction",
) -> AdjustOut:
    async with unit_of_work(services) as uow:
        result = await economy_admin.adjust_balance(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            action=action,
            amount=amount,
            reason=reason,
            actor_id=ADMIN,
        )
        await uow.commit()
    return result


async def reverse(
    services: Services, guild_id: str, transaction_id: int, reason: str = "mistake"
) -> ReversalOut:
    async with unit_of_work(services) as uow:
        result = await economy_admin.reverse_transaction(
            uow, guild_id=guild_id, transaction_id=transaction_id, reason=reason, actor_id=ADMIN
        )
        await uow.commit()
    return result


async def assert_consistent(services: Services, guild_id: str) -> None:
    async with unit_of_work(services, read_only=True) as uow:
        report = await integrity.check_integrity(uow, guild_id=guild_id)
    assert report.ok, report.problems


# --- adjust -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "amount", "delta", "balance"),
    [("add", 50, 50, 150), ("remove", 30, -30, 70), ("set", 250, 150, 250), ("set", 0, -100, 0)],
)
async def test_adjust_changes_the_balance_with_a_recorded_reason(
    services: Services,
    guild: str,
    action: AdjustAction,
    amount: int,
    delta: int,
    balance: int,
) -> None:
    await open_account(services, guild, member(1))
    result = await adjust(services, guild, member(1), action, amount, reason="  event prize  ")
    assert (result.action, result.delta, result.balance) == (action, delta, balance)
    assert result.transaction_id is not None
    async with unit_of_work(services, read_only=True) as uow:
        view = await reports.get_transaction(
            uow, guild_id=guild, transaction_id=result.transaction_id
        )
    assert (view.type, view.amount, view.reason, view.actor_id) == (
        "admin_adjust",
        abs(delta),
        "event prize",
        ADMIN,
    )
    money = await guild_money(services, guild)
    assert money.accounts[member(1)] == (balance, 0, 0)  # adjustments are not received / sent
    assert money.balance("mint") == -balance
    await assert_consistent(services, guild)


async def test_adjust_opens_the_account_of_a_new_member(services: Services, guild: str) -> None:
    result = await adjust(services, guild, member(1), "add", 5)
    assert result.balance == 105
    assert (await guild_money(services, guild)).transactions == 2  # starting balance + adjust


async def test_set_to_the_current_balance_posts_nothing(services: Services, guild: str) -> None:
    await open_account(services, guild, member(1))
    before = await guild_money(services, guild)
    result = await adjust(services, guild, member(1), "set", 100)
    assert (result.delta, result.balance, result.transaction_id) == (0, 100, None)
    assert await guild_money(services, guild) == before


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
async def test_adjust_without_a_reason_is_refused(
    services: Services, guild: str, reason: str
) -> None:
    await open_account(services, guild, member(1))
    before = await guild_money(services, guild)
    with pytest.raises(InvalidInput) as caught:
        await adjust(services, guild, member(1), "add", 10, reason=reason)
    assert caught.value.code == "reason_required"
    assert await guild_money(services, guild) == before


@pytest.mark.parametrize(
    ("action", "amount", "reason", "code"),
    [
        ("add", 0, "ok", "invalid_amount"),
        ("remove", -5, "ok", "invalid_amount"),
        ("set", -1, "ok", "invalid_amount"),
        ("add", 2**53, "ok", "invalid_amount"),  # MAX_AMOUNT + 1
        ("add", 10, "x" * 201, "reason_too_long"),
    ],
)
async def test_adjust_with_invalid_values_is_refused(
    services: Services, guild: str, action: AdjustAction, amount: int, reason: str, code: str
) -> None:
    await open_account(services, guild, member(1))
    before = await guild_money(services, guild)
    with pytest.raises(InvalidInput) as caught:
        await adjust(services, guild, member(1), action, amount, reason=reason)
    assert caught.value.code == code
    assert await guild_money(services, guild) == before


async def test_remove_beyond_the_balance_is_refused_and_changes_nothing(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 60)
    before = await guild_money(services, guild)
    with pytest.raises(InsufficientBalance) as caught:
        await adjust(services, guild, member(1), "remove", 61)
    assert caught.value.fields == {"available": 60, "needed": 61}
    assert "insufficient balance" in caught.value.message
    assert await guild_money(services, guild) == before
    assert (await adjust(services, guild, member(1), "remove", 60)).balance == 0


# --- reversal ----------------------------------------------------------------------------


async def test_reversing_a_transfer_restores_balances_and_totals(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 500)
    before = await guild_money(services, guild)
    sent = await send(services, guild, member(1), member(2), 100)
    assert (await guild_money(services, guild)).accounts[member(2)] == (200, 100, 0)

    reversal = await reverse(services, guild, sent.id, reason="sent by mistake")
    assert (reversal.reverses_id, reversal.amount) == (sent.id, 100)
    after = await guild_money(services, guild)
    assert after.accounts[member(1)] == before.accounts[member(1)] == (500, 0, 0)
    assert after.accounts[member(2)] == (100, 0, 0)
    assert after.transactions == before.transactions + 3  # receiver's opening, transfer, reversal
    async with unit_of_work(services, read_only=True) as uow:
        view = await reports.get_transaction(uow, guild_id=guild, transaction_id=reversal.id)
    assert (view.type, view.reverses_id, view.reason, view.actor_id) == (
        "reversal",
        sent.id,
        "sent by mistake",
        ADMIN,
    )
    assert sorted((e.user_id, e.amount) for e in view.entries) == [
        (member(1), 100),
        (member(2), -100),
    ]
    await assert_consistent(services, guild)


async def test_reversing_a_daily_takes_the_reward_back(services: Services, guild: str) -> None:
    daily = await claim(services, guild, member(1))
    assert daily.transaction_id is not None
    await reverse(services, guild, daily.transaction_id)
    money = await guild_money(services, guild)
    assert money.accounts[member(1)] == (100, 0, 0)
    assert money.balance("mint") == -100
    await assert_consistent(services, guild)


async def test_reversing_an_adjustment_restores_the_balance(services: Services, guild: str) -> None:
    adjusted = await adjust(services, guild, member(1), "add", 40)
    assert adjusted.transaction_id is not None
    await reverse(services, guild, adjusted.transaction_id)
    assert (await guild_money(services, guild)).accounts[member(1)] == (100, 0, 0)


async def test_double_reversal_is_refused(services: Services, guild: str) -> None:
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    await reverse(services, guild, sent.id)
    before = await guild_money(services, guild)
    with pytest.raises(AlreadyReversed) as caught:
        await reverse(services, guild, sent.id)
    assert caught.value.code == "already_reversed"
    assert caught.value.fields == {"transaction_id": sent.id}
    assert await guild_money(services, guild) == before


async def test_reversing_a_reversal_is_refused(services: Services, guild: str) -> None:
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    reversal = await reverse(services, guild, sent.id)
    before = await guild_money(services, guild)
    with pytest.raises(InvalidInput) as caught:
        await reverse(services, guild, reversal.id)
    assert caught.value.code == "cannot_reverse_reversal"
    assert await guild_money(services, guild) == before


async def test_reversal_after_the_receiver_spent_the_money_is_refused(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    await send(services, guild, member(2), member(3), 150)  # member 2 keeps 50
    before = await guild_money(services, guild)
    with pytest.raises(InsufficientBalance) as caught:
        await reverse(services, guild, sent.id)
    assert caught.value.fields == {"available": 50, "needed": 100}
    assert await guild_money(services, guild) == before
    # Nothing was recorded as reversed: once the money is back, the reversal goes through.
    await send(services, guild, member(3), member(2), 50)
    await reverse(services, guild, sent.id)
    assert (await guild_money(services, guild)).accounts[member(2)] == (0, 50, 150)


async def test_reversal_requires_a_reason(services: Services, guild: str) -> None:
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    with pytest.raises(InvalidInput) as caught:
        await reverse(services, guild, sent.id, reason=" ")
    assert caught.value.code == "reason_required"
    assert (await guild_money(services, guild)).balance(member(2)) == 200


async def test_unknown_transaction_is_not_found(services: Services, guild: str) -> None:
    with pytest.raises(TransactionNotFound) as caught:
        await reverse(services, guild, 424242)
    assert caught.value.code == "transaction_not_found"


async def test_another_guilds_transaction_is_not_found(services: Services, guild: str) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    await fund(services, OTHER_GUILD_ID, member(1), 500)
    sent = await send(services, OTHER_GUILD_ID, member(1), member(2), 100)
    before = await guild_money(services, OTHER_GUILD_ID)
    with pytest.raises(TransactionNotFound):
        await reverse(services, guild, sent.id)
    assert await guild_money(services, OTHER_GUILD_ID) == before
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(TransactionNotFound):
            await reports.get_transaction(uow, guild_id=guild, transaction_id=sent.id)
