"""A stateful property test of the money services on SQLite and PostgreSQL.

Hypothesis drives random sequences of daily claims (across days, so streaks grow and break),
transfers, admin adjustments, reversals, and squad joins and leaves against the real services,
with amounts from small to the bound of money, and settings drawn per run. A plain-Python
model predicts each step: its postings (starting balances included), or the refusal the
services must answer with (and then nothing may change). After every step the database is
checked on its own terms and against the model:

* every transaction has two or more entries summing to zero;
* no member balance below zero, no balance or running total beyond ``±MAX_AMOUNT``;
* each account's balance equals the sum of its entries;
* every account's balance and totals equal the model's, and the ledger's transactions are the
  model's, in order.

The services are async; each run owns an ``asyncio.Runner`` and drives them from the rules.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from guildbank.core.errors import InvalidInput
from guildbank.core.limits import MAX_AMOUNT, within_bounds
from guildbank.features.economy import admin as economy_admin
from guildbank.features.economy import service as economy
from guildbank.features.economy.errors import AlreadyClaimed
from guildbank.features.economy.streaks import tier_for
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.features.squads import admin as squad_admin
from guildbank.features.squads import service as squads
from guildbank.features.squads.errors import AlreadyInSquad, NotInSquad
from guildbank.ledger.accounts import SYSTEM_ACCOUNTS
from guildbank.ledger.errors import AlreadyReversed, BalanceLimit, InsufficientBalance
from guildbank.ledger.types import TransactionType
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.models.base import Base
from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, UnitOfWork, unit_of_work
from tests.conftest import GUILD_ID, FakeClock
from tests.factories import member

T = TypeVar("T")
SYSTEM = SYSTEM_ACCOUNTS
MEMBERS = st.sampled_from([member(n) for n in range(1, 5)])
AMOUNTS = st.one_of(
    st.integers(1, 300), st.sampled_from([MAX_AMOUNT, MAX_AMOUNT - 1, MAX_AMOUNT // 2])
)
COUNTED = {TransactionType.TRANSFER, TransactionType.DAILY}
RUNS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,  # no example files written into the checkout
)

# (account, amount, received, sent): one leg of a posting, by account name.
Leg = tuple[str, int, int, int]


class Expected(Exception):
    """The model's prediction that the step is refused, with one of ``errors``."""

    def __init__(self, *errors: type[Exception]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class Money:
    balance: int = 0
    received: int = 0
    sent: int = 0


@dataclass
class Model:
    """What the ledger should hold: accounts, postings in order, squads, daily streaks."""

    starting: int = 100
    daily: int = 10
    bonuses: dict[int, int] = field(default_factory=dict)
    max_transfer: int = 1000
    accounts: dict[str, Money] = field(default_factory=lambda: {s: Money() for s in SYSTEM})
    postings: list[tuple[TransactionType, list[tuple[str, int]]]] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)
    squads: dict[str, int | None] = field(default_factory=dict)  # absent: never joined
    streaks: dict[str, tuple[date, int]] = field(default_factory=dict)

    def post(self, kind: TransactionType, legs: list[Leg], payer: str | None = None) -> None:
        problems: set[type[Exception]] = set()
        for name, amount, received, sent in legs:
            now = self.accounts[name]
            after = (now.balance + amount, now.received + received, now.sent + sent)
            if name not in SYSTEM and after[0] < 0:
                problems.add(InsufficientBalance if name == payer else IntegrityError)
            if not all(within_bounds(value) for value in after):
                problems.add(BalanceLimit)
        if problems:
            raise Expected(*problems)
        for name, amount, received, sent in legs:
            self.accounts[name].balance += amount
            self.accounts[name].received += received
            self.accounts[name].sent += sent
        self.postings.append((kind, [(name, amount) for name, amount, _, _ in legs]))

    def open(self, user: str) -> None:
        if user in self.accounts:
            return
        self.accounts[user] = Money()
        if self.starting > 0:
            self.post(
                TransactionType.STARTING_BALANCE,
                [("mint", -self.starting, 0, 0), (user, self.starting, 0, 0)],
            )

    def transfer(self, giver: str, receiver: str, amount: int) -> None:
        if giver == receiver or amount > self.max_transfer:
            raise Expected(InvalidInput)
        self.open(giver)
        self.open(receiver)
        legs = [(giver, -amount, 0, amount), (receiver, amount, amount, 0)]
        self.post(TransactionType.TRANSFER, legs, payer=giver)

    def claim(self, user: str, today: date) -> None:
        self.open(user)
        last, streak = self.streaks.get(user, (date.min, 0))
        if last == today:
            raise Expected(AlreadyClaimed)
        streak = streak + 1 if last == today - timedelta(days=1) else 1
        self.streaks[user] = (today, streak)
        award = self.daily * tier_for(streak, self.bonuses).multiplier
        if award > 0:
            legs = [("mint", -award, 0, award), (user, award, award, 0)]
            self.post(TransactionType.DAILY, legs)

    def adjust(self, user: str, action: str, amount: int) -> None:
        if amount < (0 if action == "set" else 1):
            raise Expected(InvalidInput)
        self.open(user)
        now = self.accounts[user].balance
        delta = {"add": amount, "remove": -amount, "set": amount - now}[action]
        if delta:
            legs = [("mint", -delta, 0, 0), (user, delta, 0, 0)]
            self.post(TransactionType.ADMIN_ADJUST, legs, payer=user)

    def reverse(self, index: int) -> None:
        kind, entries = self.postings[index]
        if kind is TransactionType.REVERSAL:
            raise Expected(InvalidInput)
        if index in self.reversed:
            raise Expected(AlreadyReversed)
        counted = kind in COUNTED
        legs = [
            (
                name,
                -amount,
                -amount if counted and amount > 0 else 0,
                amount if counted and amount < 0 else 0,
            )
            for name, amount in entries
        ]
        debtor = next(name for name, amount, _, _ in legs if amount < 0)
        self.post(TransactionType.REVERSAL, legs, payer=debtor)
        self.reversed.add(index)

    def join(self, user: str, squad: int, switch_cost: int) -> None:
        self.open(user)
        if user not in self.squads:
            self.squads[user] = squad  # the first join is free
            return
        if self.squads[user] == squad:
            raise Expected(AlreadyInSquad)
        if switch_cost > 0:
            legs = [(user, -switch_cost, 0, 0), ("sink", switch_cost, 0, 0)]
            self.post(TransactionType.SQUAD_JOIN, legs, payer=user)
        self.squads[user] = squad

    def leave(self, user: str) -> None:
        if self.squads.get(user) is None:
            raise Expected(NotInSquad)
        self.squads[user] = None


async def _empty_postgres(services: Services) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with services.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class MoneyMachine(RuleBasedStateMachine):
    """One guild, four members, two squads; one fresh database per run."""

    database: Callable[[], str]  # a new empty, migrated database's URL per run

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FakeClock()
        url = self.database()
        self.services = Services(
            engine=create_engine(url, pool_size=4), bus=InProcessBus(), clock=self.clock
        )
        self.model = Model()
        self.ids: list[int] = []  # database id of each of the model's postings
        self.squad_ids: list[int] = []
        self.switch_cost = 0
        if self.services.dialect == "postgresql":
            self.run(_empty_postgres(self.services))

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return self.runner.run(wrapped())

    def teardown(self) -> None:
        try:
            self.run(self.services.close())
        finally:
            self.runner.close()

    async def _in_unit(self, action: Callable[[UnitOfWork], Awaitable[Any]]) -> None:
        async with unit_of_work(self.services) as uow:
            await action(uow)
            await uow.commit()

    @initialize(
        starting=st.sampled_from([0, 100, MAX_AMOUNT // 3]),
        daily=st.sampled_from([0, 10, MAX_AMOUNT // 8]),
        bonuses=st.sampled_from([{}, {2: 3}, {3: 4}]),
        max_transfer=st.sampled_from([500, MAX_AMOUNT]),
        switch_cost=st.sampled_from([0, 7, MAX_AMOUNT // 2]),
    )
    def configure(
        self,
        starting: int,
        daily: int,
        bonuses: dict[int, int],
        max_transfer: int,
        switch_cost: int,
    ) -> None:
        changes = {
            "starting_balance": starting,
            "daily_amount": daily,
            "streak_bonuses": bonuses,
            "max_transfer": max_transfer,
            "rate_limit_per_minute": 0,
        }

        async def setup(uow: UnitOfWork) -> None:
            await register_guild(uow, guild_id=GUILD_ID, name="Property guild")
            await update_config(uow, guild_id=GUILD_ID, changes=changes)
            for n in (1, 2):
                view = await squad_admin.create_squad(
                    uow,
                    guild_id=GUILD_ID,
                    role_id=str(600000000000000000 + n),
                    name=f"Squad {n}",
                    switch_cost=switch_cost,
                )
                self.squad_ids.append(view.id)

        self.run(self._in_unit(setup))
        self.model = Model(starting, daily, dict(bonuses), max_transfer)
        self.switch_cost = switch_cost

    def _step(
        self,
        name: str,
        predict: Callable[[Model], None],
        act: Callable[[UnitOfWork], Awaitable[Any]],
    ) -> None:
        """Run ``act`` in a unit of work; the outcome must be the one ``predict`` foresees."""
        scratch = copy.deepcopy(self.model)
        try:
            predict(scratch)
            expected: tuple[type[Exception], ...] = ()
        except Expected as prediction:
            expected = prediction.errors
        refusal: Exception | None = None
        try:
            self.run(self._in_unit(act))
        except Exception as error:  # whatever it is, compared with the prediction below
            refusal = error
        event(f"{name}: {type(refusal).__name__ if refusal else 'done'}")  # the run's statistics
        if refusal is not None:
            assert expected, f"refused unexpectedly: {refusal!r}"
            assert isinstance(refusal, expected), (refusal, expected)
            return
        assert not expected, f"accepted, but the model expected {expected}"
        new = scratch.postings[len(self.model.postings) :]
        self.ids += self.run(self._new_transactions([kind for kind, _ in new]))
        self.model = scratch

    async def _new_transactions(self, kinds: list[TransactionType]) -> list[int]:
        """The ids of the transactions written since the last step: the model's, in order."""
        async with unit_of_work(self.services, read_only=True) as uow:
            rows = (
                await uow.session.execute(
                    select(LedgerTransaction.id, LedgerTransaction.type)
                    .where(LedgerTransaction.id > (self.ids[-1] if self.ids else 0))
                    .order_by(LedgerTransaction.id)
                )
            ).all()
        assert [row.type for row in rows] == kinds
        return [row.id for row in rows]

    @rule(user=MEMBERS)
    def claim_daily(self, user: str) -> None:
        today = self.clock.now.date()
        self._step(
            "claim_daily",
            lambda model: model.claim(user, today),
            lambda uow: economy.claim_daily(uow, guild_id=GUILD_ID, user_id=user),
        )

    @rule(days=st.integers(1, 2))
    def next_day(self, days: int) -> None:
        self.clock.advance(days=days)

    @rule(giver=MEMBERS, receiver=MEMBERS, amount=AMOUNTS)
    def transfer(self, giver: str, receiver: str, amount: int) -> None:
        self._step(
            "transfer",
            lambda model: model.transfer(giver, receiver, amount),
            lambda uow: economy.transfer(
                uow, guild_id=GUILD_ID, giver_id=giver, receiver_id=receiver, amount=amount
            ),
        )

    @rule(
        user=MEMBERS,
        action=st.sampled_from(["add", "remove", "set"]),
        amount=st.one_of(st.just(0), AMOUNTS),
    )
    def adjust(self, user: str, action: str, amount: int) -> None:
        self._step(
            "adjust",
            lambda model: model.adjust(user, action, amount),
            lambda uow: economy_admin.adjust_balance(
                uow,
                guild_id=GUILD_ID,
                user_id=user,
                action=action,  # type: ignore[arg-type]
                amount=amount,
                reason="property test",
                actor_id=None,
            ),
        )

    @precondition(lambda self: self.model.postings)
    @rule(pick=st.integers(0, 10**6))
    def reverse(self, pick: int) -> None:
        index = pick % len(self.model.postings)
        self._step(
            "reverse",
            lambda model: model.reverse(index),
            lambda uow: economy_admin.reverse_transaction(
                uow,
                guild_id=GUILD_ID,
                transaction_id=self.ids[index],
                reason="property test",
                actor_id=None,
            ),
        )

    @rule(user=MEMBERS, which=st.integers(0, 1))
    def join_squad(self, user: str, which: int) -> None:
        squad = self.squad_ids[which]
        self._step(
            "join_squad",
            lambda model: model.join(user, squad, self.switch_cost),
            lambda uow: squads.join_squad(uow, guild_id=GUILD_ID, user_id=user, squad_id=squad),
        )

    @rule(user=MEMBERS)
    def leave_squad(self, user: str) -> None:
        self._step(
            "leave_squad",
            lambda model: model.leave(user),
            lambda uow: squads.leave_squad(uow, guild_id=GUILD_ID, user_id=user),
        )

    @invariant()
    def the_ledger_balances_and_agrees_with_the_model(self) -> None:
        accounts, transactions, entry_sums = self.run(self._ledger())
        for transaction_id, (total, entries) in transactions.items():
            assert total == 0, (transaction_id, total)
            assert entries >= 2, (transaction_id, entries)
        assert len(transactions) == len(self.model.postings)
        assert set(accounts) == set(self.model.accounts)
        for name, (account_id, is_system, money) in accounts.items():
            assert all(within_bounds(value) for value in vars(money).values()), (name, money)
            assert is_system or money.balance >= 0, (name, money)
            assert money.balance == entry_sums.get(account_id, 0), (name, money)
            assert money == self.model.accounts[name], (name, money)

    async def _ledger(
        self,
    ) -> tuple[dict[str, tuple[int, bool, Money]], dict[int, tuple[int, int]], dict[int, int]]:
        async with unit_of_work(self.services, read_only=True) as uow:
            session = uow.session
            accounts = (
                await session.execute(
                    select(
                        Account.user_id,
                        Account.id,
                        Account.is_system,
                        Account.balance,
                        Account.total_received,
                        Account.total_sent,
                    ).where(Account.guild_id == GUILD_ID)
                )
            ).all()
            transactions = (
                await session.execute(
                    select(
                        LedgerTransaction.id,
                        func.coalesce(func.sum(LedgerEntry.amount), 0),
                        func.count(LedgerEntry.id),
                    )
                    .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .group_by(LedgerTransaction.id)
                )
            ).all()
            sums = (
                await session.execute(
                    select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(
                        LedgerEntry.account_id
                    )
                )
            ).all()
        return (
            {row[0]: (row[1], row[2], Money(row[3], row[4], row[5])) for row in accounts},
            {row[0]: (int(row[1]), row[2]) for row in transactions},
            {row[0]: int(row[1]) for row in sums},
        )


def _databases(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An endless supply of empty, migrated databases of ``backend``, one per run."""
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        while True:
            yield url  # emptied by the machine as it starts
    template: Path = request.getfixturevalue("sqlite_template")
    for n in count():
        path = tmp_path / f"run-{n}.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"


def test_money_stays_balanced_bounded_and_as_modelled(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    databases = _databases(backend, request, tmp_path)

    class Machine(MoneyMachine):
        database = staticmethod(lambda: next(databases))

    run_state_machine_as_test(Machine, settings=RUNS)
