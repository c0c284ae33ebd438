"""The one bound of money (``MAX_AMOUNT`` = 2**53 - 1) on both backends: settings that would
award more are refused; a posting that would take any balance, the mint's included, past it is
refused with a 409 and nothing stored; the database itself refuses out-of-range and (SQLite)
non-integer money, and the refusal is told apart by constraint name.

Before the bound, ``daily_amount`` 10**12 × multiplier 10**6 was accepted, SQLite stored the
mint as the float -1.2e19 (integrity and the transaction list then answered 500) and
PostgreSQL answered 500 ``bigint out of range``.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import literal_column, update
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import InvalidInput
from guildbank.core.limits import MAX_AMOUNT
from guildbank.features.guilds.queries import forget_config
from guildbank.ledger import posting
from guildbank.ledger.accounts import system_account_id
from guildbank.ledger.constraints import AMOUNT_BOUNDS, BALANCE_BOUNDS, violated_constraint
from guildbank.ledger.errors import AmountOutOfRange, BalanceLimit
from guildbank.ledger.legs import Leg, transfer_legs
from guildbank.ledger.types import TransactionType
from guildbank.platform.models.guilds import GuildSettings
from guildbank.platform.models.ledger import Account, LedgerEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.factories import (
    bytes_url,
    configure,
    db_snapshot,
    error_of,
    fund,
    guild_money,
    member,
    open_account,
)

HUGE_DAILY = {"daily_amount": 10**12, "streak_bonuses": {"1": 10**6}}


def test_the_bound_is_exact_in_javascript_and_far_inside_64_bits() -> None:
    assert MAX_AMOUNT == 2**53 - 1
    assert float(MAX_AMOUNT) == MAX_AMOUNT  # a JSON number a browser reads back unchanged
    assert 2 * MAX_AMOUNT < 2**63 - 1  # balance + amount never overflows before the check


async def test_settings_whose_daily_award_would_pass_the_bound_are_refused(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    before = await db_snapshot(services)
    body = error_of(await api.put(bytes_url(guild, "/config"), json=HUGE_DAILY), 400)
    assert body["code"] == "invalid_setting"
    assert body["setting"] == "daily_amount"
    assert str(MAX_AMOUNT) in body["detail"]
    # One half at a time is refused too: the rule checks the settings as they would be.
    await configure(services, guild, streak_bonuses={1: 10**6})
    with pytest.raises(InvalidInput, match=str(MAX_AMOUNT)):
        await configure(services, guild, daily_amount=10**12)
    await configure(services, guild, daily_amount=MAX_AMOUNT // 10**6)
    assert (await db_snapshot(services)).transactions == before.transactions


@pytest.mark.parametrize("setting", ["starting_balance", "daily_amount", "max_transfer"])
async def test_each_amount_setting_stops_at_the_bound(
    api: httpx.AsyncClient, guild: str, setting: str
) -> None:
    body = error_of(await api.put(bytes_url(guild, "/config"), json={setting: MAX_AMOUNT + 1}), 422)
    assert str(MAX_AMOUNT) in body["detail"]


async def _store_legacy_settings(services: Services, guild: str) -> None:
    """Settings stored before the bound existed (written past the rules, as they were)."""
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(GuildSettings)
            .where(GuildSettings.guild_id == guild)
            .values(daily_amount=10**12, streak_bonuses={"1": 10**6})
        )
        await uow.commit()
    forget_config(services, guild)


async def test_a_daily_past_the_bound_is_refused_and_the_ledger_stays_readable(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await open_account(services, guild, member(1))
    await _store_legacy_settings(services, guild)
    before = await db_snapshot(services)
    body = error_of(await api.post(bytes_url(guild, f"/daily/{member(1)}")), 409)
    assert body["code"] == "amount_out_of_range"
    assert body["limit"] == MAX_AMOUNT
    assert await db_snapshot(services) == before  # no posting, no streak, no float
    integrity = await api.get(bytes_url(guild, "/integrity"))
    assert integrity.status_code == 200, integrity.text
    assert integrity.json()["ok"] is True
    listing = await api.get(bytes_url(guild, "/transactions"))
    assert listing.status_code == 200, listing.text


async def test_a_posting_that_would_carry_an_account_past_the_bound_is_refused(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    """Running totals are bounded like balances (every number of money the API returns is
    exact in JavaScript); so is the mint, which every new byte comes from."""
    await configure(services, guild, max_transfer=MAX_AMOUNT)
    await open_account(services, guild, member(2))
    await fund(services, guild, member(1), MAX_AMOUNT - 200)  # the mint now at -MAX + 100

    async def transfer(giver: str, receiver: str) -> httpx.Response:
        return await api.post(
            bytes_url(guild, "/transactions"),
            json={"giver_id": giver, "receiver_id": receiver, "amount": MAX_AMOUNT - 200},
        )

    assert (await transfer(member(1), member(2))).status_code == 200
    assert (await transfer(member(2), member(1))).status_code == 200
    before = await db_snapshot(services)
    body = error_of(await transfer(member(1), member(2)), 409, "balance_limit")
    # The giver's total sent would reach 2 × (MAX - 200), as would the receiver's received.
    assert body["user_id"] == member(1)
    assert body["limit"] == MAX_AMOUNT
    assert await db_snapshot(services) == before
    adjust = await api.post(
        bytes_url(guild, "/adjust"),
        json={"user_id": member(1), "action": "add", "amount": 101, "reason": "one too many"},
    )
    assert error_of(adjust, 409, "balance_limit")["user_id"] == "mint"
    assert await db_snapshot(services) == before
    assert (await api.get(bytes_url(guild, "/integrity"))).json()["ok"] is True


async def test_the_mint_stops_at_the_bound_too(services: Services, guild: str) -> None:
    """System accounts are bounded like members: the mint cannot issue past -MAX_AMOUNT."""
    await fund(services, guild, member(1), MAX_AMOUNT)
    before = await guild_money(services, guild)
    assert before.balance("mint") == -MAX_AMOUNT
    with pytest.raises(BalanceLimit) as caught:
        await fund(services, guild, member(2), 1)  # opening 100 from the mint already fails
    assert caught.value.fields["user_id"] == "mint"
    assert await guild_money(services, guild) == before


async def test_a_posting_refused_at_the_bound_leaves_the_unit_usable(
    services: Services, guild: str
) -> None:
    giver = await open_account(services, guild, member(1))
    receiver = await open_account(services, guild, member(2))
    async with unit_of_work(services) as uow:
        mint = await system_account_id(uow, guild, "mint")
        with pytest.raises(AmountOutOfRange):
            await posting.post(
                uow,
                guild_id=guild,
                type=TransactionType.ADMIN_ADJUST,
                legs=[Leg(mint, -(MAX_AMOUNT + 1)), Leg(receiver, MAX_AMOUNT + 1)],
            )
        with pytest.raises(AmountOutOfRange):  # beyond 64 bits: refused before any driver
            await posting.post(
                uow,
                guild_id=guild,
                type=TransactionType.TRANSFER,
                legs=transfer_legs(source=giver, target=receiver, amount=2**70),
            )
        await posting.post(
            uow,
            guild_id=guild,
            type=TransactionType.TRANSFER,
            legs=transfer_legs(source=giver, target=receiver, amount=10),
        )
        await uow.commit()
    money = await guild_money(services, guild)
    assert (money.balance(member(1)), money.balance(member(2))) == (90, 110)


async def test_the_database_refuses_money_past_the_bound_by_name(
    services: Services, guild: str
) -> None:
    account = await open_account(services, guild, member(1))
    refusals = {
        "ck_accounts_within_bounds": update(Account)
        .where(Account.id == account)
        .values(total_received=MAX_AMOUNT + 1),
        "ck_ledger_entries_within_bounds": update(LedgerEntry)
        .where(LedgerEntry.account_id == account)
        .values(balance_before=-(2**60), amount=2**60 + 100),
    }
    for expected, statement in refusals.items():
        async with unit_of_work(services) as uow:
            with pytest.raises(IntegrityError) as caught:
                await uow.session.execute(statement)
        assert violated_constraint(caught.value) == expected
        assert expected in BALANCE_BOUNDS


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's bigint is integer by type
async def test_sqlite_stores_money_as_integers_only(services: Services, guild: str) -> None:
    """SQLite's columns would take a float (what a sum past 64 bits turns into)."""
    account = await open_account(services, guild, member(1))
    refusals = {
        "1.5": {"ck_accounts_money_is_integer"},
        "'a hundred'": AMOUNT_BOUNDS | BALANCE_BOUNDS,
        "9223372036854775807 + balance": AMOUNT_BOUNDS | BALANCE_BOUNDS,  # a float in SQLite
    }
    for value, expected in refusals.items():
        async with unit_of_work(services) as uow:
            with pytest.raises(IntegrityError) as caught:
                await uow.session.execute(
                    update(Account)
                    .where(Account.id == account)
                    .values(balance=literal_column(value))
                )
        assert violated_constraint(caught.value) in expected, value
    money = await guild_money(services, guild)
    assert money.balance(member(1)) == 100
