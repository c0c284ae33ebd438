"""``GET /api/stream``: who may listen to which servers, filters, and live delivery over a real
HTTP connection (uvicorn on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import hikari
import httpx
import pytest
from fastapi import FastAPI

from guildbank.platform.uow import Services
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, make_api_key
from tests.factories import bytes_url, claim, error_of, member, send
from tests.fakes.discord import FakeDiscord
from tests.web.helpers import live_server, login_local, oauth_login, page_csrf
from tests.web.sse import SseReader, open_stream

MANAGE_GUILD = int(hikari.Permissions.MANAGE_GUILD)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def live(discord_app: FastAPI) -> AsyncIterator[str]:
    async with live_server(discord_app) as url:
        yield url


@pytest.fixture
async def bearer(live: str, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    key = await make_api_key(services, ("read", "write"))
    async with httpx.AsyncClient(
        base_url=live, headers={"Authorization": f"Bearer {key}"}, timeout=5
    ) as client:
        yield client


async def _transfer(client: httpx.AsyncClient, guild_id: str, amount: int) -> httpx.Response:
    response = await client.post(
        bytes_url(guild_id, "/transactions"),
        json={"giver_id": member(1), "receiver_id": member(2), "amount": amount},
    )
    assert response.status_code == 200, response.text
    return response


async def test_the_stream_refuses_anonymous_and_bad_requests(discord_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=discord_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        stream = {"Accept": "text/event-stream"}
        response = await client.get("/api/stream", headers=stream)
        error_of(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        bad_key = {**stream, "Authorization": "Bearer nope"}
        error_of(await client.get("/api/stream", headers=bad_key), 401, "unauthorized")


async def test_a_bearer_key_streams_live_transfers(bearer: httpx.AsyncClient) -> None:
    async with open_stream(bearer, {"guilds": GUILD_ID}) as stream:
        response = await _transfer(bearer, GUILD_ID, 7)
        events = await stream.messages(3, timeout=1.0)  # two accounts opened, then the transfer
        transfer = next(e for e in events if e["name"] == "transfer")
        assert transfer["guild_id"] == GUILD_ID
        assert transfer["data"]["transaction_id"] == response.json()["id"]
        assert transfer["data"]["amount"] == 7
        await _transfer(bearer, OTHER_GUILD_ID, 3)  # another guild: filtered out
        await stream.nothing_within(0.3)


async def test_event_and_guild_filters(bearer: httpx.AsyncClient, services: Services) -> None:
    params = {"events": "daily.claimed,config.changed", "guilds": f"{GUILD_ID},{OTHER_GUILD_ID}"}
    # The guilds' set-up stored config.changed events: published before the stream opens,
    # not (on a loaded machine) in the middle of it.
    await services.relay.drain()
    async with open_stream(bearer, params) as stream:
        await _transfer(bearer, GUILD_ID, 7)
        await claim(services, OTHER_GUILD_ID, member(5))
        [event] = await stream.messages(1)
        assert (event["name"], event["guild_id"]) == ("daily.claimed", OTHER_GUILD_ID)
        await stream.nothing_within(0.2)


async def test_stream_requests_are_validated(bearer: httpx.AsyncClient) -> None:
    accept = {"Accept": "text/event-stream"}
    error_of(await bearer.get("/api/stream", params={"guilds": "abc"}, headers=accept), 422)
    too_many = ",".join(str(10**17 + n) for n in range(101))
    error_of(await bearer.get("/api/stream", params={"guilds": too_many}, headers=accept), 422)
    refused = await bearer.get("/api/stream")  # not asking for an event stream
    error_of(refused, 406, "not_acceptable")


async def test_a_dashboard_session_only_hears_its_own_servers(
    live: str, discord: FakeDiscord, services: Services
) -> None:
    mara = discord.add_member(int(GUILD_ID), username="mara", permissions=MANAGE_GUILD)
    async with httpx.AsyncClient(base_url=live, timeout=5) as browser:
        assert (await oauth_login(browser, discord, mara.id)).status_code == 303
        forbidden = await browser.get(
            "/api/stream",
            params={"guilds": OTHER_GUILD_ID},
            headers={"Accept": "text/event-stream"},
        )
        error_of(forbidden, 403, "forbidden")
        async with open_stream(browser) as stream:
            await send(services, OTHER_GUILD_ID, member(1), member(2), 4)
            await send(services, GUILD_ID, member(3), member(4), 9)
            events = await stream.messages(3)
            assert {e["guild_id"] for e in events} == {GUILD_ID}
            assert events[-1]["data"]["amount"] == 9
            await stream.nothing_within(0.2)


async def test_the_local_admin_hears_every_server_until_logging_out(
    live: str, services: Services
) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=5) as browser:
        assert (await login_local(browser)).status_code == 303
        async with open_stream(browser) as stream:
            await send(services, OTHER_GUILD_ID, member(1), member(2), 4)
            events = await stream.messages(3)
            assert events[-1]["guild_id"] == OTHER_GUILD_ID
            token = await page_csrf(browser, "/admin/")
            assert (await browser.post("/admin/logout", data={"csrf_token": token})).status_code
            # The stream re-checks the session (every second here) and ends after logout;
            # events already on their way (the transfer's others) may come first.
            assert await _ends(stream)


async def _ends(stream: SseReader) -> bool:
    """Whether the stream ends within a few reads (each waiting up to 3 s)."""
    for _ in range(10):
        try:
            await stream.next(timeout=3.0)
        except EOFError:
            return True
    return False
