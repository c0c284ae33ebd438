"""A stream that reconnects with ``Last-Event-ID`` misses nothing and repeats nothing, on both
backends, over a real HTTP connection; events purged past retention are announced as a gap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.apikeys import create_api_key
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, FakeClock, make_api_key
from tests.factories import claim, error_of, member
from tests.web.helpers import live_server
from tests.web.sse import SseReader, open_stream


@pytest.fixture
async def bearer(app: FastAPI, services: Services, guild: str) -> AsyncIterator[httpx.AsyncClient]:
    key = await make_api_key(services, ("read", "write"))
    async with (
        live_server(app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        yield client


async def _dailies(stream: SseReader, count: int) -> list[tuple[int, str]]:
    """The next ``count`` daily claims on the stream, as (event id, member)."""
    found: list[tuple[int, str]] = []
    while len(found) < count:
        event = await stream.next(timeout=3.0)
        assert event.event == "message", event
        assert int(event.id) == event.json["id"]
        if event.json["name"] == "daily.claimed":
            found.append((int(event.id), event.json["data"]["user_id"]))
    return found


async def test_a_reconnecting_stream_gets_what_it_missed_once(
    bearer: httpx.AsyncClient, services: Services
) -> None:
    params = {"guilds": GUILD_ID, "events": "daily.claimed"}
    async with open_stream(bearer, params) as stream:
        await claim(services, GUILD_ID, member(1))
        [(seen, _)] = await _dailies(stream, 1)
    # Disconnected: two more claims happen.
    await claim(services, GUILD_ID, member(2))
    await claim(services, GUILD_ID, member(3))
    await services.relay.drain()
    async with open_stream(bearer, params, **{"Last-Event-ID": str(seen)}) as stream:
        missed = await _dailies(stream, 2)
        assert [user for _, user in missed] == [member(2), member(3)]
        assert seen < missed[0][0] < missed[1][0]
        await claim(services, GUILD_ID, member(4))
        [(live, user)] = await _dailies(stream, 1)
        assert (user, live > missed[1][0]) == (member(4), True)
        await stream.nothing_within(0.3)  # nothing twice


async def test_resuming_from_the_last_event_replays_nothing(
    bearer: httpx.AsyncClient, services: Services
) -> None:
    await claim(services, GUILD_ID, member(1))
    await services.relay.drain()
    params = {"events": "daily.claimed"}
    async with open_stream(bearer, params, **{"Last-Event-ID": "0"}) as stream:
        [(first, user)] = await _dailies(stream, 1)
        assert user == member(1)
    async with open_stream(bearer, params, **{"Last-Event-ID": str(first)}) as stream:
        await stream.nothing_within(0.3)


async def test_events_past_retention_are_announced_as_a_gap(
    bearer: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await claim(services, GUILD_ID, member(1))
    await services.relay.drain()
    clock.advance(hours=services.event_retention_hours + 1)
    await claim(services, GUILD_ID, member(2))
    await services.relay.drain()
    await services.relay.purge()  # member 1's events are gone (the gap below proves it)
    async with open_stream(bearer, {"events": "daily.claimed"}, **{"Last-Event-ID": "0"}) as stream:
        gap = await stream.next()
        assert (gap.event, gap.json) == ("gap", {"after": 0})
        [(_, user)] = await _dailies(stream, 1)
        assert user == member(2)


async def test_a_bad_last_event_id_is_refused(bearer: httpx.AsyncClient) -> None:
    headers = {"Accept": "text/event-stream", "Last-Event-ID": "yesterday"}
    error_of(await bearer.get("/api/stream", headers=headers), 422)


async def test_a_guild_scoped_key_hears_only_its_guilds(
    app: FastAPI, services: Services, guild: str
) -> None:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other")
        await update_config(uow, guild_id=OTHER_GUILD_ID, changes={"rate_limit_per_minute": 0})
        _, token = await create_api_key(uow, name="tool", scopes=("read",), guild_ids=[guild])
        await uow.commit()
    async with (
        live_server(app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as tool,
    ):
        accept = {"Accept": "text/event-stream"}
        refused = await tool.get("/api/stream", params={"guilds": OTHER_GUILD_ID}, headers=accept)
        error_of(refused, 403, "forbidden_guild")
        async with open_stream(tool, {"events": "daily.claimed"}) as stream:
            await claim(services, OTHER_GUILD_ID, member(1))
            await claim(services, guild, member(2))
            [(_, user)] = await _dailies(stream, 1)
            assert user == member(2)
            await stream.nothing_within(0.3)
