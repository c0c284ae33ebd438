"""Plain-function factories for test data, written through the real services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select, update

from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import queries as reports
from guildbank.features.economy import service as economy
from guildbank.features.economy.schemas import DailyOut, TransferOut
from guildbank.features.guilds.queries import get_config
from guildbank.features.guilds.rules import EconomyConfig
from guildbank.features.guilds.service import update_config
from guildbank.ledger.accounts import SHOP_ACCOUNTS, ensure_account
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.models.guilds import GuildSettings
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work


def member(n: int) -> str:
    """The n-th test member's Discord id."""
    return str(300000000000000000 + n)


async def open_account(services: Services, guild_id: str, user_id: str) -> int:
    async with unit_of_work(services) as uow:
        config = await get_config(uow, guild_id)
        account = await ensure_account(
            uow, guild_id, user_id, starting_balance=config.starting_balance
        )
        await uow.commit()
    return account


async def fund(services: Services, guild_id: str, user_id: str, balance: int) -> None:
    """Give a member exactly ``balance`` through an admin adjustment (a real ledger posting)."""
    async with unit_of_work(services) as uow:
        await economy_admin.adjust_balance(
            uow,
            guild_id=guild_id,
            user_id=user_id,
            action="set",
            amount=balance,
            reason="test funding",
            actor_id=None,
        )
        await uow.commit()


async def set_streak(
    services: Services, guild_id: str, user_id: str, *, streak: int, last_daily: date
) -> None:
    """Pretend the member has claimed for ``streak`` days up to ``last_daily``."""
    await open_account(services, guild_id, user_id)
    async with unit_of_work(services) as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.guild_id == guild_id, Account.user_id == user_id)
            .values(streak_count=streak, last_daily=last_daily)
        )
        await uow.commit()


# --- API-test helpers (appended for tests/api, tests/db and tests/test_cli.py) -------------


def bytes_url(guild_id: str, path: str = "") -> str:
    """The URL of a bytes endpoint of ``guild_id``, e.g. ``bytes_url(g, "/balance/1")``."""
    return f"/api/guilds/{guild_id}/bytes{path}"


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is an error of ``status`` in the one error shape; return its body."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    assert isinstance(body.get("code"), str), body
    if code is not None:
        assert body["code"] == code, body
    return body


@dataclass(frozen=True)
class DbSnapshot:
    """Everything a write could change, to prove that a refused request changed nothing."""

    transactions: int
    entries: int
    idempotency_records: int
    accounts: tuple[tuple[str, str, int, int, int, int], ...]
    settings: tuple[tuple[Any, ...], ...]


async def db_snapshot(services: Services) -> DbSnapshot:
    """A snapshot of ledger, accounts, settings and idempotency records (all guilds)."""
    async with unit_of_work(services, read_only=True) as uow:
        session = uow.session
        transactions = (
            await session.execute(select(func.count()).select_from(LedgerTransaction))
        ).scalar_one()
        entries = (
            await session.execute(select(func.count()).select_from(LedgerEntry))
        ).scalar_one()
        records = (
            await session.execute(select(func.count()).select_from(IdempotencyRecord))
        ).scalar_one()
        accounts = (
            await session.execute(
                select(
                    Account.guild_id,
                    Account.user_id,
                    Account.balance,
                    Account.total_received,
                    Account.total_sent,
                    Account.streak_count,
                ).order_by(Account.guild_id, Account.user_id)
            )
        ).all()
        columns = [c for c in GuildSettings.__table__.c if c.name != "updated_at"]
        settings = (await session.execute(select(*columns).order_by(GuildSettings.guild_id))).all()
        return DbSnapshot(
            transactions,
            entries,
            records,
            tuple((g, u, b, r, s, k) for g, u, b, r, s, k in accounts),
            tuple(tuple(row) for row in settings),
        )


async def configure(services: Services, guild_id: str, **changes: Any) -> EconomyConfig:
    """Change guild settings through the real service (committed)."""
    async with unit_of_work(services) as uow:
        config = await update_config(uow, guild_id=guild_id, changes=changes)
        await uow.commit()
    return config


async def claim(services: Services, guild_id: str, user_id: str) -> DailyOut:
    async with unit_of_work(services) as uow:
        result = await economy.claim_daily(uow, guild_id=guild_id, user_id=user_id)
        await uow.commit()
    return result


async def send(
    services: Services,
    guild_id: str,
    giver_id: str,
    receiver_id: str,
    amount: int,
    reason: str | None = None,
) -> TransferOut:
    async with unit_of_work(services) as uow:
        result = await economy.transfer(
            uow,
            guild_id=guild_id,
            giver_id=giver_id,
            receiver_id=receiver_id,
            amount=amount,
            reason=reason,
        )
        await uow.commit()
    return result


async def balance_view(services: Services, guild_id: str, user_id: str) -> reports.BalanceView:
    async with unit_of_work(services, read_only=True) as uow:
        return await reports.get_balance(uow, guild_id=guild_id, user_id=user_id)


def shop_money(balances: Mapping[str, int]) -> int:
    """The shop's money: the sum of its shard accounts (``ledger.accounts.SHOP_ACCOUNTS``)."""
    return sum(balances[name] for name in SHOP_ACCOUNTS)


@dataclass(frozen=True, slots=True)
class GuildMoney:
    """One guild's ledger size and every account's money, to prove a refusal changed nothing."""

    transactions: int
    entries: int
    accounts: dict[str, tuple[int, int, int]]  # user_id -> (balance, total_received, total_sent)

    def balance(self, user_id: str) -> int:
        return self.accounts[user_id][0]

    def shop(self) -> int:
        return shop_money({name: money[0] for name, money in self.accounts.items()})


async def guild_money(services: Services, guild_id: str) -> GuildMoney:
    async with unit_of_work(services, read_only=True) as uow:
        session = uow.session
        transactions = (
            await session.execute(
                select(func.count()).where(LedgerTransaction.guild_id == guild_id)
            )
        ).scalar_one()
        entries = (
            await session.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .join(Account, Account.id == LedgerEntry.account_id)
                .where(Account.guild_id == guild_id)
            )
        ).scalar_one()
        rows = (
            await session.execute(
                select(
                    Account.user_id, Account.balance, Account.total_received, Account.total_sent
                ).where(Account.guild_id == guild_id)
            )
        ).all()
        return GuildMoney(transactions, entries, {r[0]: (r[1], r[2], r[3]) for r in rows})
