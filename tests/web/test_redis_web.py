"""Events and settings changes crossing processes through real Redis (127.0.0.1:6379).

Each "process" here is a separate app with its own database engine, its own Redis connections
and its own caches, sharing only the database and a Redis channel unique to the test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from guildbank.platform.bus import Event
from guildbank.platform.engine import create_engine
from guildbank.platform.redis_bus import RedisBus
from guildbank.platform.uow import Services
from guildbank.runtime.app import create_app
from guildbank.web.sessions import RedisSessionStore, Session
from guildbank.web.state import DashboardState
from tests.conftest import REDIS_URL, FakeClock, make_api_key, settings_for
from tests.factories import bytes_url, member
from tests.web.helpers import live_server
from tests.web.sse import open_stream

pytestmark = pytest.mark.redis


@pytest.fixture
def channel() -> str:
    return f"guildbank:test:{uuid.uuid4().hex}"


async def test_two_redis_buses_see_each_others_events(channel: str) -> None:
    one, two = RedisBus(REDIS_URL, channel=channel), RedisBus(REDIS_URL, channel=channel)
    try:
        async with two.subscribe(guilds=["1"]) as theirs, one.subscribe() as mine:
            await one.publish([Event("transfer", "1", {"amount": 5}), Event("x", "2")])
            async with asyncio.timeout(2):
                received = await theirs.queue.get()
                own = [await mine.queue.get(), await mine.queue.get()]
            assert (received.name, received.guild_id, received.data) == (
                "transfer",
                "1",
                {"amount": 5},
            )
            assert [e.name for e in own] == ["transfer", "x"]
            assert theirs.queue.empty()  # guild 2 was filtered out
    finally:
        await one.close()
        await two.close()


async def _process(
    stack: AsyncExitStack, database_url: str, channel: str, clock: FakeClock
) -> FastAPI:
    """One web process: own engine, own Redis bus, config cache that would last 5 minutes."""
    engine = create_engine(database_url, pool_size=5)
    services = Services(
        engine=engine,
        bus=RedisBus(REDIS_URL, channel=channel),
        clock=clock,
        config_cache_seconds=300,
    )

    async def close() -> None:
        await services.close()

    stack.push_async_callback(close)
    app = create_app(settings_for(database_url), services)
    await stack.enter_async_context(app.router.lifespan_context(app))
    return app


@pytest.fixture
async def two_processes(
    database_url: str, guild: str, channel: str, clock: FakeClock
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    async with AsyncExitStack() as stack:
        yield (
            await _process(stack, database_url, channel, clock),
            await _process(stack, database_url, channel, clock),
        )


def _client(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_a_settings_change_reaches_the_other_processes_cache(
    two_processes: tuple[FastAPI, FastAPI], services: Services, guild: str
) -> None:
    first, second = two_processes
    key = await make_api_key(services)
    async with _client(first, key) as a, _client(second, key) as b:
        assert (await b.get(bytes_url(guild, "/config"))).json()["daily_amount"] == 10  # cached
        changed = await a.put(bytes_url(guild, "/config"), json={"daily_amount": 42})
        assert changed.status_code == 200, changed.text
        async with asyncio.timeout(10.0):  # generous: a loaded CI machine, not a latency bound
            while (await b.get(bytes_url(guild, "/config"))).json()["daily_amount"] != 42:  # noqa: ASYNC110 - polling another process's cache is the point
                await asyncio.sleep(0.02)


async def test_an_event_from_one_process_reaches_a_stream_served_by_another(
    two_processes: tuple[FastAPI, FastAPI], services: Services, guild: str
) -> None:
    first, second = two_processes
    key = await make_api_key(services)
    async with (
        live_server(second) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as listener,
        _client(first, key) as writer,
        open_stream(listener, {"guilds": guild, "events": "transfer"}) as stream,
    ):
        sent = await writer.post(
            bytes_url(guild, "/transactions"),
            json={"giver_id": member(1), "receiver_id": member(2), "amount": 12},
        )
        assert sent.status_code == 200, sent.text
        [event] = await stream.messages(1, timeout=1.0)
        assert event["data"]["transaction_id"] == sent.json()["id"]
        assert event["data"]["amount"] == 12


async def test_sessions_and_login_limits_are_shared_through_redis(
    services: Services, database_url: str
) -> None:
    """Every web worker sees the same sessions and counts the same failed logins."""
    settings = settings_for(
        database_url, redis_url=REDIS_URL, secret_key="k" * 40, login_attempts_per_minute=2
    )
    one, two = DashboardState(settings, services), DashboardState(settings, services)
    try:
        assert isinstance(one.sessions, RedisSessionStore)
        session = Session.new(kind="local", user_id="local", username="a", lifetime_seconds=60)
        session.flash("ok", "hello")
        await one.sessions.save(session)
        seen = await two.sessions.get(session.id)
        assert seen is not None
        assert (seen.username, seen.csrf, seen.flashes) == ("a", session.csrf, [("ok", "hello")])
        await two.sessions.delete(session.id)
        assert await one.sessions.get(session.id) is None
        key = ("login", "127.0.0.1", uuid.uuid4().hex)
        assert await one.limiter.hit(one.login_limit, *key)
        assert await two.limiter.hit(two.login_limit, *key)
        assert not await one.limiter.test(one.login_limit, *key)
    finally:
        await one.close()
        await two.close()
