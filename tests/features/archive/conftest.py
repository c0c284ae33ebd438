"""Fixtures of the archive tests: the archive directory in the test's tmp folder, and a
guild with history spread over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from guildbank.features.archive import storage
from guildbank.ledger import integrity
from guildbank.ledger.archive import ArchiveResult, archive_ledger
from guildbank.platform.clock import as_utc
from guildbank.platform.models.archive import LedgerArchive, LedgerCheckpoint
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import FakeClock
from tests.factories import fund, member, open_account, send

MEMBERS = [member(n) for n in range(1, 6)]


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the app writes archives in these tests (never the working directory)."""
    directory = (tmp_path / "archives").resolve()
    monkeypatch.setattr(storage, "archive_directory", lambda _settings: directory)
    return directory


def files_in(directory: Path, pattern: str = "*.gz") -> list[Path]:
    """The files under ``directory`` matching ``pattern``, sorted (none if it is missing)."""
    return sorted(directory.rglob(pattern)) if directory.exists() else []


async def build_history(services: Services, guild_id: str, clock: FakeClock) -> None:
    """Three eras, 40 days apart: funding and transfers at the start, more 40 and 80 days
    later (the clock ends at the last era)."""
    for user in MEMBERS:
        await open_account(services, guild_id, user)
        await fund(services, guild_id, user, 500)
    for era in range(3):
        if era:
            clock.advance(days=40)
        for n in range(12):
            giver, receiver = MEMBERS[n % 5], MEMBERS[(n * 3 + era + 1) % 5]
            if giver != receiver:
                await send(services, guild_id, giver, receiver, 7 + n + era)


@dataclass(frozen=True, slots=True)
class Ledger:
    """Everything the hot tables hold for a guild, plus the checkpoints."""

    balances: dict[int, int]  # account id -> cached balance
    transactions: list[dict[str, Any]]  # in id order, entries inside (the file's shape)
    checkpoints: dict[int, tuple[int, int, int, int]]  # balance, received, sent, entries


async def ledger(services: Services, guild_id: str) -> Ledger:
    async with unit_of_work(services, read_only=True) as uow:
        s = uow.session
        balances = dict(
            (
                await s.execute(
                    select(Account.id, Account.balance).where(Account.guild_id == guild_id)
                )
            ).all()
        )
        txs = (
            await s.execute(
                select(LedgerTransaction)
                .where(LedgerTransaction.guild_id == guild_id)
                .order_by(LedgerTransaction.id)
            )
        ).scalars()
        transactions: list[dict[str, Any]] = []
        for tx in txs:
            entries = (
                await s.execute(
                    select(
                        LedgerEntry.id,
                        LedgerEntry.account_id,
                        Account.user_id,
                        LedgerEntry.amount,
                        LedgerEntry.balance_before,
                        LedgerEntry.balance_after,
                    )
                    .join(Account, Account.id == LedgerEntry.account_id)
                    .where(LedgerEntry.transaction_id == tx.id)
                    .order_by(LedgerEntry.id)
                )
            ).all()
            transactions.append(
                {
                    "id": tx.id,
                    "type": tx.type,
                    "amount": tx.amount,
                    "reason": tx.reason,
                    "actor_id": tx.actor_id,
                    "reverses_id": tx.reverses_id,
                    "created_at": as_utc(tx.created_at).astimezone(UTC).isoformat(),
                    "entries": [
                        {
                            "id": e[0],
                            "account_id": e[1],
                            "user_id": e[2],
                            "amount": e[3],
                            "balance_before": e[4],
                            "balance_after": e[5],
                        }
                        for e in entries
                    ],
                }
            )
        checkpoints = {
            c.account_id: (c.balance, c.received, c.sent, c.entries)
            for c in (
                await s.execute(
                    select(LedgerCheckpoint).where(LedgerCheckpoint.guild_id == guild_id)
                )
            ).scalars()
        }
    return Ledger(balances, transactions, checkpoints)


async def run_archive(
    services: Services, guild_id: str, directory: Path, *, days: int, dry_run: bool = False
) -> ArchiveResult:
    async with unit_of_work(services) as uow:
        result = await archive_ledger(
            uow,
            guild_id=guild_id,
            cutoff=uow.now - timedelta(days=days),
            directory=directory,
            actor_id="tests",
            dry_run=dry_run,
        )
        await uow.commit()
    return result


async def check(services: Services, guild_id: str) -> integrity.IntegrityReport:
    async with unit_of_work(services, read_only=True) as uow:
        return await integrity.check_integrity(uow, guild_id=guild_id)


async def archive_rows(services: Services, guild_id: str) -> list[LedgerArchive]:
    async with unit_of_work(services, read_only=True) as uow:
        return list(
            (
                await uow.session.execute(
                    select(LedgerArchive)
                    .where(LedgerArchive.guild_id == guild_id)
                    .order_by(LedgerArchive.id)
                )
            ).scalars()
        )
