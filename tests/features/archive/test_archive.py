"""The archive kernel and service on both backends: what leaves the hot tables is exactly
what the file holds, balances and the integrity check do not move, checkpoints stack, a
rerun never duplicates, a split is refused with nothing changed, a crash between the file
and the commit loses nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from guildbank.features.economy import admin as economy_admin
from guildbank.features.shop import admin as shop_admin
from guildbank.ledger import archive as kernel
from guildbank.ledger.archive import ArchiveWouldSplit, read_archive
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.models.archive import LedgerCheckpoint
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import fund, member, send
from tests.features.archive.conftest import (
    MEMBERS,
    Ledger,
    archive_rows,
    build_history,
    check,
    files_in,
    ledger,
    run_archive,
)
from tests.features.shop.helpers import buy, make_item


def _file_transactions(path: Path) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in line.items() if k != "kind"}
        for line in read_archive(path)
        if line["kind"] == "transaction"
    ]


def _assert_checkpoints_explain_balances(state: Ledger) -> None:
    """Checkpoint + newer entries = balance, and the chain starts at the checkpoint."""
    for account_id, balance in state.balances.items():
        start = state.checkpoints.get(account_id, (0, 0, 0, 0))[0]
        newer = [
            e for tx in state.transactions for e in tx["entries"] if e["account_id"] == account_id
        ]
        newer.sort(key=lambda e: e["id"])
        assert start + sum(e["amount"] for e in newer) == balance
        if newer:
            assert newer[0]["balance_before"] == start


async def test_archive_moves_exactly_the_old_rows_and_changes_no_balance(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    assert (await check(services, guild)).ok

    result = await run_archive(services, guild, archive_dir, days=60)

    after = await ledger(services, guild)
    assert after.balances == before.balances
    report = await check(services, guild)
    assert report.ok, report.problems
    assert report.total == 0
    kept = {tx["id"] for tx in after.transactions}
    removed = [tx for tx in before.transactions if tx["id"] not in kept]
    assert removed, "the first era is older than the cut-off"
    assert removed == before.transactions[: len(removed)], "a prefix of the ledger"
    assert all(str(tx["created_at"]) < result.cutoff.isoformat() for tx in removed)
    assert all(str(tx["created_at"]) >= result.cutoff.isoformat() for tx in after.transactions)
    assert result.transactions == len(removed)
    assert result.entries == sum(len(tx["entries"]) for tx in removed)
    assert result.file_name is not None
    path = archive_dir / result.file_name
    assert _file_transactions(path) == removed
    lines = list(read_archive(path))
    assert lines[0]["kind"] == "header"
    assert lines[0]["guild_id"] == guild
    assert lines[-1] == {
        "kind": "footer",
        "transactions": result.transactions,
        "entries": result.entries,
        "accounts": result.accounts,
    }
    # The checkpoints: balance at the cut-off and the archived flows, per account.
    for line in lines:
        if line["kind"] == "account":
            archived = [
                e["amount"]
                for tx in removed
                for e in tx["entries"]
                if e["account_id"] == line["account_id"]
            ]
            assert after.checkpoints[line["account_id"]] == (
                line["closing"],
                sum(a for a in archived if a > 0),
                -sum(a for a in archived if a < 0),
                len(archived),
            )
            assert line["opening"] + sum(archived) == line["closing"]
    assert sum(c[0] for c in after.checkpoints.values()) == 0, "archived money sums to zero"
    _assert_checkpoints_explain_balances(after)
    rows = await archive_rows(services, guild)
    assert [(r.file_name, r.transactions, r.size_bytes) for r in rows] == [
        (result.file_name, result.transactions, path.stat().st_size)
    ]


async def test_archives_stack_and_a_rerun_never_duplicates(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    first = await run_archive(services, guild, archive_dir, days=60)
    again = await run_archive(services, guild, archive_dir, days=60)
    assert again.transactions == 0, "nothing newly old"
    assert again.file_name is None
    assert len(await archive_rows(services, guild)) == 1
    middle = await ledger(services, guild)

    second = await run_archive(services, guild, archive_dir, days=30)
    assert second.first_transaction_id == (first.last_transaction_id or 0) + 1 or (
        second.first_transaction_id is not None
        and second.first_transaction_id > (first.last_transaction_id or 0)
    )
    after = await ledger(services, guild)
    assert after.balances == before.balances
    report = await check(services, guild)
    assert report.ok, report.problems
    _assert_checkpoints_explain_balances(after)
    # Each account's checkpoint replaced the first, totals carried forward.
    for account_id, (_, received, sent, count) in after.checkpoints.items():
        old = middle.checkpoints.get(account_id, (0, 0, 0, 0))
        assert received >= old[1]
        assert sent >= old[2]
        assert count >= old[3]
    assert len(after.checkpoints) >= len(middle.checkpoints)
    # Both files together hold every removed transaction once.
    assert first.file_name
    assert second.file_name
    archived = _file_transactions(archive_dir / first.file_name) + _file_transactions(
        archive_dir / second.file_name
    )
    kept = {tx["id"] for tx in after.transactions}
    assert archived == [tx for tx in before.transactions if tx["id"] not in kept]
    assert len({tx["id"] for tx in archived}) == len(archived)
    assert len(await archive_rows(services, guild)) == 2
    # Everything archived but the database's newest transaction (SQLite would reuse its id).
    clock.advance(days=400)
    last = await run_archive(services, guild, archive_dir, days=1)
    assert last.transactions == len(after.transactions) - 1
    emptied = await ledger(services, guild)
    assert emptied.transactions == after.transactions[-1:]
    assert emptied.balances == before.balances
    assert (await check(services, guild)).ok
    _assert_checkpoints_explain_balances(emptied)
    # And new postings chain from the checkpoints.
    await send(services, guild, MEMBERS[0], MEMBERS[1], 5)
    report = await check(services, guild)
    assert report.ok, report.problems


async def test_dry_run_changes_nothing(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    preview = await run_archive(services, guild, archive_dir, days=60, dry_run=True)
    assert preview.dry_run
    assert preview.transactions > 0
    assert preview.file_name is None
    assert await ledger(services, guild) == before
    assert files_in(archive_dir, "*") == []
    done = await run_archive(services, guild, archive_dir, days=60)
    assert (done.transactions, done.entries, done.accounts) == (
        preview.transactions,
        preview.entries,
        preview.accounts,
    )


async def _assert_refused(
    services: Services, guild: str, archive_dir: Path, days: int, words: str
) -> None:
    before = await ledger(services, guild)
    with pytest.raises(ArchiveWouldSplit) as refused:
        await run_archive(services, guild, archive_dir, days=days)
    assert refused.value.code == "archive_would_split"
    assert words in refused.value.message
    assert await ledger(services, guild) == before
    assert await archive_rows(services, guild) == []
    assert files_in(archive_dir) == []


async def test_a_kept_reversal_of_an_old_transaction_is_refused(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    async with unit_of_work(services, read_only=True) as uow:
        old = (
            await uow.session.execute(
                select(LedgerTransaction.id)
                .where(LedgerTransaction.guild_id == guild, LedgerTransaction.type == "transfer")
                .order_by(LedgerTransaction.id)
                .limit(1)
            )
        ).scalar_one()
    async with unit_of_work(services) as uow:
        await economy_admin.reverse_transaction(
            uow, guild_id=guild, transaction_id=old, reason="mistake", actor_id=None
        )
        await uow.commit()
    await _assert_refused(services, guild, archive_dir, 60, f"reverses #{old}")
    # Once the reversal itself is old enough, both go together (a newer transaction exists:
    # the database's newest one always stays).
    clock.advance(days=100)
    await send(services, guild, MEMBERS[0], MEMBERS[1], 1)
    done = await run_archive(services, guild, archive_dir, days=60)
    assert done.transactions > 0
    assert (await check(services, guild)).ok


async def test_a_purchase_refunded_after_the_cut_off_is_refused(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    buyer = member(40)
    await fund(services, guild, buyer, 1000)
    item = await make_item(services, guild, name="Cake", price=100)
    purchase = await buy(services, guild, buyer, item.id)
    clock.advance(days=50)
    async with unit_of_work(services) as uow:
        await shop_admin.refund_purchase(
            uow, guild_id=guild, purchase_id=purchase.purchase_id, actor_id=None
        )
        await uow.commit()
    await _assert_refused(services, guild, archive_dir, 20, "refunded after it")


async def test_idempotency_records_older_than_the_cut_off_are_refused(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    async with unit_of_work(services) as uow:
        uow.session.add(
            IdempotencyRecord(
                api_key_id=1,
                key="k",
                guild_id=guild,
                method="POST",
                path="/x",
                request=None,
                fingerprint="f" * 64,
                status_code=200,
                body={"id": 1},
                created_at=clock.now.replace(year=clock.now.year - 1),
            )
        )
        await uow.commit()
    await _assert_refused(services, guild, archive_dir, 60, "Idempotency-Key")


async def test_a_crash_between_the_file_and_the_commit_loses_nothing(
    services: Services,
    guild: str,
    clock: FakeClock,
    archive_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    real_delete = kernel._delete

    async def crash(*_: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(kernel, "_delete", crash)
    with pytest.raises(OSError, match="power cut"):
        await run_archive(services, guild, archive_dir, days=60)
    assert await ledger(services, guild) == before, "rolled back: every row still there"
    assert await archive_rows(services, guild) == []
    leftovers = files_in(archive_dir)
    assert len(leftovers) == 1, "the durable file stayed, unregistered"

    # A later era makes the rerun's range differ: the leftover is removed, not listed.
    monkeypatch.setattr(kernel, "_delete", real_delete)
    clock.advance(days=40)
    result = await run_archive(services, guild, archive_dir, days=60)
    assert result.file_name is not None
    assert files_in(archive_dir) == [archive_dir / result.file_name]
    assert leftovers[0] != archive_dir / result.file_name
    after = await ledger(services, guild)
    kept = {tx["id"] for tx in after.transactions}
    assert _file_transactions(archive_dir / result.file_name) == [
        tx for tx in before.transactions if tx["id"] not in kept
    ]
    assert after.balances == before.balances
    assert (await check(services, guild)).ok


async def test_only_a_prefix_by_id_is_archived(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    """A transaction stamped before the cut-off but after a newer one in id order stays:
    the archived set is a prefix of the ledger (each account's chain stays whole)."""
    await build_history(services, guild, clock)
    before = await ledger(services, guild)
    late = before.transactions[3]["id"]
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(LedgerTransaction)
            .where(LedgerTransaction.id == late)
            .values(created_at=clock.now)
        )
        await uow.commit()
    result = await run_archive(services, guild, archive_dir, days=60)
    assert result.last_transaction_id == before.transactions[2]["id"]
    assert result.transactions == 3
    assert (await check(services, guild)).ok


async def test_integrity_still_finds_a_wrong_balance_after_an_archive(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    await build_history(services, guild, clock)
    clock.advance(days=1)
    await run_archive(services, guild, archive_dir, days=0)  # all but the newest

    async with unit_of_work(services) as uow:
        account = (
            await uow.session.execute(select(LedgerCheckpoint.account_id).limit(1))
        ).scalar_one()
        await uow.session.execute(
            update(LedgerCheckpoint)
            .where(LedgerCheckpoint.account_id == account)
            .values(balance=LedgerCheckpoint.balance + 1)
        )
        await uow.commit()
    report = await check(services, guild)
    assert not report.ok
    assert "balance_mismatch" in {p["code"] for p in report.problems}


async def test_an_account_whose_entries_cross_the_transaction_order_is_not_split(
    services: Services, guild: str, clock: FakeClock, archive_dir: Path
) -> None:
    """Two concurrent postings can take transaction ids in one order and lock a shared
    account in the other: #1001 wrote A's first entry, #1000 its second. Archiving #1000
    alone would cut A's chain in two, so the prefix stops before it."""
    old, new = clock.now - timedelta(days=10), clock.now
    async with unit_of_work(services) as uow:
        ids = []
        for name, balance in (("test-a", 15), ("test-b", -15)):
            insert_account = (
                insert(Account)
                .values(guild_id=guild, user_id=name, is_system=True, balance=balance)
                .returning(Account.id)
            )
            ids.append((await uow.session.execute(insert_account)).scalar_one())
        a, b = ids
        await uow.session.execute(
            insert(LedgerTransaction),
            [
                {
                    "id": 1000,
                    "guild_id": guild,
                    "type": "transfer",
                    "amount": 10,
                    "created_at": old,
                },
                {"id": 1001, "guild_id": guild, "type": "transfer", "amount": 5, "created_at": new},
            ],
        )
        rows = [
            (2000, 1001, a, 5, 0),
            (2001, 1000, a, 10, 5),
            (2002, 1000, b, -10, 0),
            (2003, 1001, b, -5, -10),
        ]
        await uow.session.execute(
            insert(LedgerEntry),
            [
                {
                    "id": entry,
                    "transaction_id": tx,
                    "account_id": account,
                    "amount": amount,
                    "balance_before": before,
                    "balance_after": before + amount,
                }
                for entry, tx, account, amount, before in rows
            ],
        )
        await uow.commit()
    assert (await check(services, guild)).ok
    before = await ledger(services, guild)
    result = await run_archive(services, guild, archive_dir, days=5)
    assert result.transactions == 0, "#1000 stays with #1001"
    assert await ledger(services, guild) == before
    assert (await check(services, guild)).ok
