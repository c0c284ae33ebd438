"""Idempotency-Keys under real concurrency: copies of keyed transfers from two integrators
race (PostgreSQL: 32 parallel connections; SQLite: 8 clients), and on PostgreSQL a twin on
the one-statement path meets a twin on the transactional path."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from guildbank.features.economy import service as economy
from guildbank.features.economy.schemas import TransferOut
from guildbank.platform.idempotency import IdempotentRequest, Replayed
from guildbank.platform.models.events import EventLogEntry
from guildbank.platform.uow import Services, unit_of_work
from tests.concurrency.conftest import Level, assert_integrity, ledger_state, run_clients
from tests.conftest import make_api_key
from tests.factories import fund, member, open_account

KEYS = 12
COPIES = 4


@dataclass(frozen=True, slots=True)
class Job:
    integrator: int  # 0 or 1: whose API key sends it
    key: str
    giver: str
    receiver: str
    amount: int


async def transfer_events(services: Services, guild_id: str) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        count = (
            await uow.session.execute(
                select(func.count()).where(
                    EventLogEntry.guild_id == guild_id, EventLogEntry.name == "transfer"
                )
            )
        ).scalar_one()
    return int(count)


async def test_copies_of_keyed_transfers_from_two_integrators_each_apply_once(
    services: Services, guild: str, api: httpx.AsyncClient, app: FastAPI, level: Level
) -> None:
    """Both integrators use the same key strings: each (integrator, key) moves money once and
    every copy gets that first response; half the receivers are new (the transactional path),
    half known (one statement on PostgreSQL)."""
    givers = (member(1), member(2))
    for giver in givers:
        await fund(services, guild, giver, 10_000)
    known = [member(n) for n in range(10, 16)]
    for receiver in known:
        await open_account(services, guild, receiver)
    rng = random.Random(20261202)
    jobs = []
    for integrator, giver in enumerate(givers):
        for k in range(KEYS):
            receiver = known[k % len(known)] if k % 2 else member(100 + 20 * integrator + k)
            job = Job(integrator, f"pay-{k}", giver, receiver, rng.randint(1, 50))
            jobs += [job] * COPIES
    rng.shuffle(jobs)
    other = await make_api_key(services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {other}"},
    ) as second:
        clients = (api, second)

        async def send(job: Job) -> tuple[Job, httpx.Response]:
            response = await clients[job.integrator].post(
                f"/api/guilds/{guild}/bytes/transactions",
                json={"giver_id": job.giver, "receiver_id": job.receiver, "amount": job.amount},
                headers={"Idempotency-Key": job.key},
            )
            return job, response

        outcomes = await run_clients(level.clients, jobs, send)

    assert [r.status_code for _, r in outcomes] == [200] * len(jobs), [
        r.text for _, r in outcomes if r.status_code != 200
    ]
    answers: dict[Job, list[httpx.Response]] = defaultdict(list)
    for job, response in outcomes:
        answers[job].append(response)
    assert len(answers) == 2 * KEYS
    for job, responses in answers.items():
        assert len({r.content for r in responses}) == 1, job  # every copy: the same bytes
        assert sum("idempotent-replayed" not in r.headers for r in responses) == 1, job
        assert responses[0].json()["amount"] == job.amount
    after = await ledger_state(services, guild)
    assert after.tx_counts["transfer"] == 2 * KEYS
    for giver in givers:
        sent = sum(job.amount for job in answers if job.giver == giver)
        assert after.balances[giver] == 10_000 - sent
    assert await transfer_events(services, guild) == 2 * KEYS  # one event per transfer
    await assert_integrity(api, guild)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_one_statement_twin_waiting_on_a_transactional_twin_replays_it(
    services: Services, guild: str, database_url: str
) -> None:
    """Twin A takes the transactional path and holds its row locks and key record,
    uncommitted; twin B's one statement waits on the rows, then meets A's record: B's
    statement undoes itself and B answers with A's response."""
    giver, receiver = member(1), member(2)
    await fund(services, guild, giver, 500)
    await open_account(services, guild, receiver)
    body = b'{"giver_id":"%s","receiver_id":"%s","amount":100}' % (
        giver.encode(),
        receiver.encode(),
    )
    keyed = IdempotentRequest.of(
        owner=1, key="twin", guild_id=guild, method="POST", path="/t", body=body
    )

    async def transfer(uow: Any) -> TransferOut:
        return await economy.transfer(
            uow, guild_id=guild, giver_id=giver, receiver_id=receiver, amount=100, keyed=keyed
        )

    async with unit_of_work(services) as first:
        await first.session.execute(text("SELECT 1"))  # began: the transactional path
        answer = await transfer(first)
        async with unit_of_work(services) as second:
            twin = asyncio.create_task(transfer(second))
            await _until_waiting_on_a_lock(services)
            assert not twin.done()
            await first.commit()
            with pytest.raises(Replayed) as replayed:
                await twin
    assert TransferOut.model_validate(replayed.value.stored.body) == answer
    after = await ledger_state(services, guild)
    assert after.tx_counts["transfer"] == 1
    assert (after.balances[giver], after.balances[receiver]) == (400, 200)
    assert await transfer_events(services, guild) == 1


async def _until_waiting_on_a_lock(services: Services) -> None:
    """Return once some backend of the database waits for a lock (bounded: a missed wait
    fails the caller's assertions instead of hanging)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(1000):
        async with services.engine.connect() as connection:
            if (await connection.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.005)
