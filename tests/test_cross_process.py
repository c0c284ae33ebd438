"""Events cross real OS processes through Redis: a transfer made in one `guildbank web`
process reaches a subscriber in another (this test's), as in the scaled deployment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from guildbank.platform.redis_bus import RedisBus
from guildbank.platform.uow import Services
from tests.conftest import REDIS_URL, make_api_key
from tests.factories import fund, member
from tests.fakes.ports import free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def web_process(database_url: str) -> Iterator[str]:
    """`guildbank web` in its own OS process on PostgreSQL + Redis; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "GUILDBANK_DATABASE_URL": database_url,
        "GUILDBANK_REDIS_URL": REDIS_URL,
        "GUILDBANK_PORT": str(port),
        "GUILDBANK_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from guildbank.cli import app; app()", "web"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if process.stderr is not None:
                process.stderr.close()


async def _wait_until_up(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(200):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"guildbank web did not start at {base_url}")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_transfer_in_another_process_reaches_this_one(
    services: Services, guild: str, web_process: str
) -> None:
    await fund(services, guild, member(1), 500)
    key = await make_api_key(services)
    await _wait_until_up(web_process)
    listener = RedisBus(REDIS_URL)  # the default channel, as every guildbank process uses
    try:
        async with listener.subscribe(guilds=[guild], names=["transfer"]) as subscription:
            async with httpx.AsyncClient(
                base_url=web_process, headers={"Authorization": f"Bearer {key}"}
            ) as other_process:
                response = await other_process.post(
                    f"/api/guilds/{guild}/bytes/transactions",
                    json={"giver_id": member(1), "receiver_id": member(2), "amount": 25},
                )
            assert response.status_code == 200, response.text
            async with asyncio.timeout(5):
                event = await subscription.queue.get()
    finally:
        await listener.close()
    assert event.guild_id == guild
    assert event.data["transaction_id"] == response.json()["id"]
    assert (event.data["giver_id"], event.data["receiver_id"], event.data["amount"]) == (
        member(1),
        member(2),
        25,
    )
