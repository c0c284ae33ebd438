"""The ledger integrity check (SPEC §4.1): clean after real work, loud after tampering."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from guildbank.features.economy import admin as economy_admin
from guildbank.features.guilds.errors import GuildNotFound
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.service import register_guild
from guildbank.ledger import integrity
from guildbank.ledger.accounts import SYSTEM_ACCOUNTS
from guildbank.ledger.errors import InsufficientBalance
from guildbank.ledger.integrity import IntegrityReport
from guildbank.platform.models.ledger import Account, LedgerEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID, FakeClock
from tests.factories import claim, fund, guild_money, member, send


async def check(services: Services, guild_id: str) -> IntegrityReport:
    async with unit_of_work(services, read_only=True) as uow:
        return await integrity.check_integrity(uow, guild_id=guild_id)


def codes(report: IntegrityReport) -> list[str]:
    return sorted(problem["code"] for problem in report.problems)


def only(report: IntegrityReport, code: str) -> dict[str, Any]:
    (problem,) = [p for p in report.problems if p["code"] == code]
    return problem


async def workload(services: Services, guild_id: str, clock: FakeClock) -> int:
    """Dailies over several days, transfers, adjustments, a reversal and a refused transfer."""
    for _ in range(3):
        for n in (1, 2, 3):
            await claim(services, guild_id, member(n))
        clock.advance(days=1)
    await fund(services, guild_id, member(4), 700)
    sent = await send(services, guild_id, member(4), member(1), 250, reason="prize")
    await send(services, guild_id, member(1), member(2), 120)
    await send(services, guild_id, member(2), member(3), 60)
    with pytest.raises(InsufficientBalance):
        await send(services, guild_id, member(3), member(1), 999)
    async with unit_of_work(services) as uow:
        await economy_admin.adjust_balance(
            uow,
            guild_id=guild_id,
            user_id=member(5),
            action="add",
            amount=30,
            reason="bug bounty",
            actor_id=None,
        )
        await economy_admin.reverse_transaction(
            uow, guild_id=guild_id, transaction_id=sent.id, reason="duplicate", actor_id=None
        )
        await uow.commit()
    return sent.id


async def test_clean_after_a_mixed_workload(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await workload(services, guild, clock)
    report = await check(services, guild)
    assert report.ok, report.problems
    assert report.problems == []
    assert report.total == 0
    money = await guild_money(services, guild)
    assert report.accounts == len(money.accounts) == 5 + len(SYSTEM_ACCOUNTS)  # members, system
    assert report.transactions == money.transactions
    assert sum(balance for balance, _, _ in money.accounts.values()) == 0


async def test_a_fresh_guild_is_clean(services: Services, guild: str) -> None:
    report = await check(services, guild)
    assert (report.ok, report.accounts, report.transactions, report.total) == (
        True,
        len(SYSTEM_ACCOUNTS),
        0,
        0,
    )


async def test_the_kernel_knows_no_guilds_so_callers_check_first(services: Services) -> None:
    """Whether a guild exists is the guilds feature's to say (GuildNotFound): the API route
    and the CLI check it first (tests/features/economy/test_api.py, tests/test_cli.py)."""
    report = await check(services, "999999999999999999")
    assert (report.ok, report.accounts, report.transactions, report.total) == (True, 0, 0, 0)
    async with unit_of_work(services, read_only=True) as uow:
        with pytest.raises(GuildNotFound):
            await get_config(uow, "999999999999999999")


async def tamper_balance(services: Services, guild_id: str, user_id: str, delta: int) -> None:
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild_id, Account.user_id == user_id)
            .values(balance=Account.balance + delta)
        )
        await uow.commit()


async def test_edited_balance_is_reported_and_not_fixed(
    services: Services, guild: str, clock: FakeClock
) -> None:
    await workload(services, guild, clock)
    honest = (await guild_money(services, guild)).balance(member(2))
    await tamper_balance(services, guild, member(2), 7)

    report = await check(services, guild)
    assert not report.ok
    assert codes(report) == ["balance_mismatch", "guild_total_nonzero", "last_balance_mismatch"]
    mismatch = only(report, "balance_mismatch")
    assert (mismatch["user_id"], mismatch["balance"], mismatch["entries_sum"]) == (
        member(2),
        honest + 7,
        honest,
    )
    last = only(report, "last_balance_mismatch")
    assert (last["user_id"], last["balance"], last["last_balance_after"]) == (
        member(2),
        honest + 7,
        honest,
    )
    assert only(report, "guild_total_nonzero")["total"] == 7
    assert report.total == 7
    assert all(problem["detail"] for problem in report.problems)

    # Reported, not repaired: the tampered balance is still there and so is the report.
    assert (await guild_money(services, guild)).balance(member(2)) == honest + 7
    assert (await check(services, guild)).problems == report.problems


async def test_report_values_are_plain_integers_on_both_backends(
    services: Services, guild: str
) -> None:
    """Sums come back as Decimal from PostgreSQL unless cast; the report must not leak that."""
    await claim(services, guild, member(1))
    await tamper_balance(services, guild, member(1), 3)
    report = await check(services, guild)
    numbers = [
        value
        for problem in report.problems
        for key, value in problem.items()
        if key not in {"code", "detail", "user_id"}
    ]
    assert numbers
    assert all(type(value) is int for value in numbers), report.problems
    assert type(report.total) is int


async def test_problems_of_one_guild_do_not_leak_into_another(
    services: Services, guild: str
) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID)
        await uow.commit()
    await claim(services, OTHER_GUILD_ID, member(1))
    await claim(services, guild, member(1))
    await tamper_balance(services, OTHER_GUILD_ID, member(1), -5)
    assert (await check(services, guild)).ok
    assert not (await check(services, OTHER_GUILD_ID)).ok


async def _receiver_entry(services: Services, guild_id: str, transaction_id: int) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return (
            await uow.session.execute(
                select(LedgerEntry.id).where(
                    LedgerEntry.transaction_id == transaction_id, LedgerEntry.amount > 0
                )
            )
        ).scalar_one()


async def test_deleted_entry_is_reported_or_refused_by_the_database(
    services: Services, guild: str
) -> None:
    """SQLite has no deferred triggers, so the check must catch it; PostgreSQL refuses it."""
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    entry_id = await _receiver_entry(services, guild, sent.id)

    async def delete_entry() -> None:
        async with unit_of_work(services) as uow:
            await uow.session.execute(delete(LedgerEntry).where(LedgerEntry.id == entry_id))
            await uow.commit()

    if services.dialect == "postgresql":
        with pytest.raises(IntegrityError, match="does not sum to zero"):
            await delete_entry()
        assert (await check(services, guild)).ok
        return

    await delete_entry()
    report = await check(services, guild)
    assert codes(report) == ["balance_mismatch", "last_balance_mismatch", "unbalanced_transaction"]
    unbalanced = only(report, "unbalanced_transaction")
    assert (unbalanced["transaction_id"], unbalanced["sum"], unbalanced["entries"]) == (
        sent.id,
        -100,
        1,
    )
    assert only(report, "balance_mismatch")["user_id"] == member(2)


async def test_edited_entry_amount_is_reported_or_refused_by_the_database(
    services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 500)
    sent = await send(services, guild, member(1), member(2), 100)
    entry_id = await _receiver_entry(services, guild, sent.id)

    async def inflate_entry() -> None:
        async with unit_of_work(services) as uow:
            await uow.session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id == entry_id)
                .values(amount=150, balance_after=LedgerEntry.balance_before + 150)
            )
            await uow.commit()

    if services.dialect == "postgresql":
        with pytest.raises(IntegrityError, match="does not sum to zero"):
            await inflate_entry()
        assert (await check(services, guild)).ok
        return

    await inflate_entry()
    report = await check(services, guild)
    assert "unbalanced_transaction" in codes(report)
    assert only(report, "unbalanced_transaction")["sum"] == 50


async def test_broken_chain_of_balances_is_reported(services: Services, guild: str) -> None:
    """Shifting one entry's before/after (still consistent with itself) breaks the chain."""
    await fund(services, guild, member(1), 500)
    first = await send(services, guild, member(1), member(2), 100)
    await send(services, guild, member(1), member(2), 50)
    entry_id = await _receiver_entry(services, guild, first.id)
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id == entry_id)
            .values(
                balance_before=LedgerEntry.balance_before + 1,
                balance_after=LedgerEntry.balance_after + 1,
            )
        )
        await uow.commit()
    report = await check(services, guild)
    # The shifted entry no longer follows the opening entry, nor does the next one follow it.
    assert codes(report) == ["broken_chain", "broken_chain"]
    assert {p["account_id"] for p in report.problems} == {
        (await _account_id(services, guild, member(2)))
    }


async def _account_id(services: Services, guild_id: str, user_id: str) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        return (
            await uow.session.execute(
                select(Account.id).where(Account.guild_id == guild_id, Account.user_id == user_id)
            )
        ).scalar_one()


async def test_problems_stream_one_at_a_time(services: Services, guild: str) -> None:
    """A caller may stop reading after any problem: nothing more is fetched or kept."""
    await fund(services, guild, member(1), 500)
    await fund(services, guild, member(2), 500)
    await tamper_balance(services, guild, member(1), 3)
    await tamper_balance(services, guild, member(2), 4)
    report = await check(services, guild)
    async with unit_of_work(services, read_only=True) as uow:
        stream = integrity.problems(uow, guild_id=guild)
        first = await anext(stream)
        await stream.aclose()
        summary = await integrity.summarize(uow, guild_id=guild)
    assert first == report.problems[0]
    assert first["user_id"] == member(1)
    assert (summary.accounts, summary.transactions, summary.total) == (
        report.accounts,
        report.transactions,
        7,
    )
