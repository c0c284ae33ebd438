"""Tasks under real concurrency (issue 13): places, per-member limits and one reward.

Through the whole HTTP stack, clients starting together behind a gate; on PostgreSQL each
request holds its own connection (the sampled server-side activity proves they overlap).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select

from guildbank.features.tasks.expiry import expire_due
from guildbank.features.tasks.scheduler import take_lease
from guildbank.platform.models.ledger import LedgerTransaction
from guildbank.platform.models.tasks import MemberTask
from guildbank.platform.uow import Services, unit_of_work
from tests.concurrency.conftest import assert_integrity, run_clients, watch_server
from tests.conftest import FakeClock
from tests.factories import member

MOD = member(9)


def url(guild_id: str, path: str = "") -> str:
    return f"/api/guilds/{guild_id}/tasks{path}"


async def create(api: httpx.AsyncClient, guild_id: str, **fields: Any) -> int:
    response = await api.post(url(guild_id), json={"name": "Race", "reward": 50, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await api.post(path, json=body)
    return response.status_code, response.json().get("code")


async def test_thirty_concurrent_claims_of_five_places_make_five_claims(
    api: httpx.AsyncClient, guild: str, services: Services, database_url: str
) -> None:
    task_id = await create(api, guild, max_claims=5)
    users = [member(1000 + n) for n in range(30)]
    outcomes, server = await watch_server(
        database_url,
        run_clients(
            30,
            users,
            lambda u: post(api, url(guild, f"/{task_id}/claim"), {"user_id": u}),
        ),
    )
    assert Counter(outcomes) == {(200, None): 5, (409, "task_full"): 25}, outcomes
    task = (await api.get(url(guild, f"/{task_id}"))).json()
    assert task["current_claims"] == 5
    async with unit_of_work(services, read_only=True) as uow:
        rows = (
            await uow.session.execute(select(func.count()).where(MemberTask.task_id == task_id))
        ).scalar_one()
    assert rows == 5
    if server is not None:
        assert server.peak_active >= 4, server.peak_active  # requests really overlapped


async def test_concurrent_accepts_and_double_clicks_pay_one_reward(
    api: httpx.AsyncClient, guild: str, services: Services, database_url: str
) -> None:
    task_id = await create(api, guild, reward=75)
    users = [member(2000 + n) for n in range(6)]
    for user in users:
        assert (await post(api, url(guild, f"/{task_id}/claim"), {"user_id": user}))[0] == 200
        body = {"user_id": user, "proof": "done"}
        assert (await post(api, url(guild, f"/{task_id}/submit"), body))[0] == 200
    # Per member: four accepts at once (two moderators, each clicking twice).
    reviews = [(u, r) for u in users for r in (MOD, member(8), MOD, member(8))]
    outcomes, _ = await watch_server(
        database_url,
        run_clients(
            len(reviews),
            reviews,
            lambda job: post(
                api,
                url(guild, f"/{task_id}/review"),
                {"user_id": job[0], "accept": True, "reviewer_id": job[1]},
            ),
        ),
    )
    assert Counter(outcomes) == {(200, None): 6, (409, "not_awaiting_review"): 18}, outcomes
    async with unit_of_work(services, read_only=True) as uow:
        paid = (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild, LedgerTransaction.type == "task_reward"
                )
            )
        ).scalar_one()
    assert paid == 6
    for user in users:
        balance = (await api.get(f"/api/guilds/{guild}/bytes/balance/{user}")).json()["balance"]
        assert balance == 100 + 75
    await assert_integrity(api, guild)


async def test_one_member_claiming_many_tasks_at_once_stays_within_the_limit(
    api: httpx.AsyncClient, guild: str, database_url: str
) -> None:
    response = await api.put(url(guild, "/settings"), json={"max_tasks_per_user": 4})
    assert response.status_code == 200, response.text
    tasks = [await create(api, guild, name=f"Task {n}") for n in range(16)]
    outcomes, _ = await watch_server(
        database_url,
        run_clients(
            16, tasks, lambda t: post(api, url(guild, f"/{t}/claim"), {"user_id": member(1)})
        ),
    )
    assert Counter(outcomes) == {(200, None): 4, (409, "task_limit_reached"): 12}, outcomes


async def test_one_scheduler_lease_among_many_processes(services: Services, guild: str) -> None:
    owners = [f"web-{n}" for n in range(12)]
    won = await run_clients(
        12, owners, lambda o: take_lease(services, name="tasks.expiry", owner=o, seconds=60)
    )
    assert won.count(True) == 1, won


async def test_a_mixed_storm_keeps_the_counters_and_the_money_straight(
    api: httpx.AsyncClient, guild: str, services: Services, database_url: str, clock: FakeClock
) -> None:
    """Claims, submissions, abandons and accepts of three tasks at once, with an expiry pass
    racing them: every place count matches the claims holding places, every accepted claim
    was paid exactly once, and the ledger balances."""
    tasks = [await create(api, guild, name=f"Storm {n}", max_claims=6, reward=10) for n in range(3)]
    users = [member(3000 + n) for n in range(12)]

    async def life(job: tuple[int, str]) -> None:
        task_id, user = job
        base = url(guild, f"/{task_id}")
        status, _ = await post(api, f"{base}/claim", {"user_id": user})
        if status != 200:
            return
        if int(user) % 3 == 0:
            await post(api, f"{base}/abandon", {"user_id": user})
            return
        await post(api, f"{base}/submit", {"user_id": user, "proof": "done"})
        for reviewer in (MOD, member(8)):
            await post(
                api, f"{base}/review", {"user_id": user, "accept": True, "reviewer_id": reviewer}
            )

    jobs = [(t, u) for t in tasks for u in users]

    async def expiry_passes() -> None:
        # Part-way through, every deadline passes: claims and tasks expire under the storm.
        await asyncio.sleep(0.05)
        clock.advance(hours=25)
        for _ in range(5):
            async with unit_of_work(services) as uow:
                await expire_due(uow)
                await uow.commit()

    await asyncio.gather(watch_server(database_url, run_clients(12, jobs, life)), expiry_passes())
    async with unit_of_work(services, read_only=True) as uow:
        claims = (await uow.session.execute(select(MemberTask.task_id, MemberTask.status))).all()
        paid = (
            await uow.session.execute(
                select(func.count()).where(
                    LedgerTransaction.guild_id == guild, LedgerTransaction.type == "task_reward"
                )
            )
        ).scalar_one()
    holding = Counter(t for t, s in claims if s != "expired")
    for task_id in tasks:
        task = (await api.get(url(guild, f"/{task_id}"))).json()
        assert task["current_claims"] == holding[task_id] <= 6
    accepted = sum(1 for _, s in claims if s == "accepted")
    assert accepted == paid
    statuses = [(await api.get(url(guild, f"/{t}"))).json()["status"] for t in tasks]
    assert statuses == ["expired"] * len(tasks)
    await assert_integrity(api, guild)
