"""One PostgreSQL connection budget per process (``GUILDBANK_DATABASE_CONNECTIONS``), shared by
the SQLAlchemy pool and the fast path's driver pool, and never exceeded under load.

Counted the way an operator would: ``pg_stat_activity`` rows carrying the process's
``application_name``, sampled over a side connection while 48 clients send transfers (fast
path), first daily claims and balance reads (units of work) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import APPLICATION_NAME, create_engine
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from tests.conftest import GUILD_ID, PG_ADMIN_DSN, make_api_key, settings_for
from tests.factories import fund, member

ON_POSTGRES = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

BUDGET = 6
CLIENTS = 48
REQUESTS = 12  # per client
MEMBERS = 20


def test_the_budget_is_split_between_the_two_pools() -> None:
    assert Settings(_env_file=None).database_connections == 20
    assert Settings(_env_file=None, database_connections=7).database_pool_size == 3
    with pytest.raises(ValueError, match="database_connections"):
        Settings(_env_file=None, database_connections=1)


class Sampler:
    """The most connections named ``application_name`` open at once, seen by the server."""

    QUERY = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"

    def __init__(self, application_name: str) -> None:
        self.application_name = application_name
        self.peak = 0
        self.samples = 0

    async def count(self, connection: asyncpg.Connection) -> int:
        value: int = await connection.fetchval(self.QUERY, self.application_name)
        return value

    async def run(self) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            while True:
                self.peak = max(self.peak, await self.count(connection))
                self.samples += 1
                await asyncio.sleep(0.002)
        finally:
            await connection.close()


async def _prepare(services: Services) -> str:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=GUILD_ID, name="budget")
        await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
        await uow.commit()
    for n in range(1, MEMBERS + 1):
        await fund(services, GUILD_ID, member(n), 10**6)
    return await make_api_key(services)


@ON_POSTGRES
async def test_a_process_never_holds_more_connections_than_its_budget(database_url: str) -> None:
    name = f"gb-budget-{uuid.uuid4().hex[:8]}"
    settings = settings_for(f"{database_url}?application_name={name}", database_connections=BUDGET)
    services = build_services(settings)
    sampler = Sampler(name)
    statuses: Counter[int] = Counter()
    try:
        token = await _prepare(services)
        transport = httpx.ASGITransport(app=create_app(settings, services))
        headers = {"Authorization": f"Bearer {token}"}
        prefix = f"/api/guilds/{GUILD_ID}/bytes"
        newcomers = iter(range(1000, 1000 + CLIENTS * REQUESTS))

        async def client(rng: random.Random, http: httpx.AsyncClient) -> None:
            for _ in range(REQUESTS):
                roll = rng.random()
                if roll < 0.5:
                    giver, receiver = rng.sample(range(1, MEMBERS + 1), 2)
                    body = {"giver_id": member(giver), "receiver_id": member(receiver)}
                    response = await http.post(
                        f"{prefix}/transactions", json={**body, "amount": rng.randint(1, 9)}
                    )
                elif roll < 0.75:
                    response = await http.post(f"{prefix}/daily/{member(next(newcomers))}")
                else:
                    response = await http.get(f"{prefix}/balance/{member(rng.randint(1, MEMBERS))}")
                statuses[response.status_code] += 1

        sampling = asyncio.create_task(sampler.run())
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", headers=headers
            ) as http:
                await asyncio.gather(*(client(random.Random(i), http) for i in range(CLIENTS)))
        finally:
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
    finally:
        await services.close()

    assert statuses == Counter({200: CLIENTS * REQUESTS})
    assert sampler.samples > 10
    # Never above the budget, and both pools were busy at once: it is one shared budget.
    assert settings.database_pool_size < sampler.peak <= BUDGET, sampler.peak
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await sampler.count(connection) == 0  # closing the services released them all
    finally:
        await connection.close()


@ON_POSTGRES
async def test_connections_are_named_for_pg_stat_activity(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    services = Services(engine=engine, bus=InProcessBus())
    try:
        async with engine.connect() as connection:
            named = await connection.exec_driver_sql("SHOW application_name")
            assert named.scalar_one() == APPLICATION_NAME
        pool = await services.standalone_pool()
        assert pool is not None
        assert await pool.fetchval("SHOW application_name") == APPLICATION_NAME
    finally:
        await services.close()
