"""First appearances under real concurrency: one account and one starting balance per member."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import func, select

from guildbank.platform.models.ledger import Account, LedgerEntry, LedgerTransaction
from guildbank.platform.uow import Services, unit_of_work
from tests.concurrency.conftest import Level, assert_integrity, ledger_state, run_clients
from tests.factories import fund, member, open_account

STARTING = 100
DAILY = 10


def bytes_url(guild_id: str, path: str) -> str:
    return f"/api/guilds/{guild_id}/bytes{path}"


async def transfer(
    api: httpx.AsyncClient, guild_id: str, giver: str, receiver: str, amount: int
) -> tuple[int, object]:
    response = await api.post(
        bytes_url(guild_id, "/transactions"),
        json={"giver_id": giver, "receiver_id": receiver, "amount": amount},
    )
    return response.status_code, response.json().get("code")


async def daily(api: httpx.AsyncClient, guild_id: str, user_id: str) -> tuple[int, object]:
    response = await api.post(bytes_url(guild_id, f"/daily/{user_id}"))
    return response.status_code, response.json().get("code")


async def openings(services: Services, guild_id: str, user_id: str) -> tuple[int, int]:
    """(accounts, starting_balance transactions) of one member."""
    async with unit_of_work(services, read_only=True) as uow:
        accounts = (
            await uow.session.execute(
                select(func.count())
                .select_from(Account)
                .where(Account.guild_id == guild_id, Account.user_id == user_id)
            )
        ).scalar_one()
        starts = (
            await uow.session.execute(
                select(func.count())
                .select_from(LedgerTransaction)
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .join(Account, Account.id == LedgerEntry.account_id)
                .where(
                    LedgerTransaction.type == "starting_balance",
                    Account.guild_id == guild_id,
                    Account.user_id == user_id,
                )
            )
        ).scalar_one()
    return accounts, starts


async def test_one_member_appearing_everywhere_at_once_opens_one_account(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    newcomer = member(99)
    givers = [member(n) for n in range(1, 9)]
    for giver in givers:
        await open_account(services, guild, giver)
        await fund(services, guild, giver, 1000)
    # Transfers to the newcomer, the newcomer's own daily claims and balance reads, all at once.
    jobs = [
        ("transfer", givers[i % len(givers)]) if i % 3 else ("daily", newcomer)
        for i in range(level.appearances)
    ]
    jobs += [("read", newcomer)] * (level.appearances // 4)

    async def act(job: tuple[str, str]) -> tuple[str, int, object]:
        kind, user = job
        if kind == "transfer":
            return kind, *await transfer(api, guild, user, newcomer, 5)
        if kind == "daily":
            return kind, *await daily(api, guild, user)
        response = await api.get(bytes_url(guild, f"/balance/{user}"))
        return kind, response.status_code, None

    outcomes = await run_clients(level.clients, jobs, act)

    tally = Counter(outcomes)
    sends = sum(1 for kind, _ in jobs if kind == "transfer")
    claims = sum(1 for kind, _ in jobs if kind == "daily")
    reads = len(jobs) - sends - claims
    assert tally == Counter(
        {
            ("transfer", 200, None): sends,
            ("daily", 200, None): 1,
            ("daily", 409, "already_claimed"): claims - 1,
            ("read", 200, None): reads,
        }
    )
    assert await openings(services, guild, newcomer) == (1, 1)
    state = await ledger_state(services, guild)
    assert state.balances[newcomer] == STARTING + DAILY + 5 * sends
    assert state.received[newcomer] == DAILY + 5 * sends
    await assert_integrity(api, guild)


async def test_newcomers_appear_while_their_senders_claim_daily(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    """Opening a receiver locks the mint before the sender; a daily locks the sender first."""
    senders = [member(n) for n in range(1, level.clients // 2 + 1)]
    for sender in senders:
        await open_account(services, guild, sender)
    newcomers = {sender: member(1000 + n) for n, sender in enumerate(senders)}
    jobs = [(kind, sender) for sender in senders for kind in ("transfer", "daily")]

    async def act(job: tuple[str, str]) -> tuple[str, int, object]:
        kind, sender = job
        if kind == "transfer":
            return kind, *await transfer(api, guild, sender, newcomers[sender], 7)
        return kind, *await daily(api, guild, sender)

    outcomes = await run_clients(len(jobs), jobs, act)

    assert Counter(outcomes) == Counter(
        {("transfer", 200, None): len(senders), ("daily", 200, None): len(senders)}
    )
    state = await ledger_state(services, guild)
    for sender, newcomer in newcomers.items():
        assert state.balances[sender] == STARTING + DAILY - 7
        assert state.balances[newcomer] == STARTING + 7
    await assert_integrity(api, guild)


async def test_new_sender_to_newcomer_while_the_newcomer_claims(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    """Both ends of a transfer are new while the receiver also appears through a daily."""
    pairs = [(member(n), member(500 + n)) for n in range(1, level.clients // 2 + 1)]
    jobs = [job for sender, newcomer in pairs for job in ((sender, newcomer), ("", newcomer))]

    async def act(job: tuple[str, str]) -> tuple[str, int, object]:
        sender, newcomer = job
        if sender:
            return "transfer", *await transfer(api, guild, sender, newcomer, 9)
        return "daily", *await daily(api, guild, newcomer)

    outcomes = await run_clients(len(jobs), jobs, act)

    assert Counter(outcomes) == Counter(
        {("transfer", 200, None): len(pairs), ("daily", 200, None): len(pairs)}
    )
    state = await ledger_state(services, guild)
    for sender, newcomer in pairs:
        assert state.balances[sender] == STARTING - 9
        assert state.balances[newcomer] == STARTING + DAILY + 9
        assert await openings(services, guild, newcomer) == (1, 1)
    await assert_integrity(api, guild)


async def test_many_newcomers_at_once_each_open_once(
    services: Services, guild: str, api: httpx.AsyncClient, level: Level
) -> None:
    newcomers = [member(2000 + n) for n in range(level.appearances)]
    jobs = newcomers * 2  # everyone claims twice, all at once

    outcomes = await run_clients(level.clients, jobs, lambda user: daily(api, guild, user))

    assert Counter(outcomes) == Counter(
        {(200, None): len(newcomers), (409, "already_claimed"): len(newcomers)}
    )
    state = await ledger_state(services, guild)
    assert state.tx_counts == {"starting_balance": len(newcomers), "daily": len(newcomers)}
    assert all(state.balances[user] == STARTING + DAILY for user in newcomers)
    assert state.balances["mint"] == -(STARTING + DAILY) * len(newcomers)
    await assert_integrity(api, guild)
