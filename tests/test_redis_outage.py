"""Scaled mode through a Redis outage (a redis-server of this test's own, stopped mid-load).

Every committed transfer is answered 200, the rate limiter keeps working per process, and
once Redis is back every event reaches another process's stream exactly once and a settings
change made during the outage reaches its cache.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from guildbank.runtime.app import create_app
from tests.conftest import settings_for
from tests.factories import member
from tests.fakes.ports import free_port
from tests.web.helpers import live_server
from tests.web.sse import SseReader, open_stream

pytestmark = pytest.mark.redis

KEY = "redis-outage-test-key"
NO_DISK = ("--save", "", "--appendonly", "no")
CLIENTS = 8
TRANSFERS_EACH = 25


class OwnRedis:
    """A redis-server on a free port, stopped and started again by the test."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is required"
        self._process = subprocess.Popen(  # noqa: S603 - a fixed local executable
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", *NO_DISK],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _transfer_events(stream: SseReader, count: int) -> list[int]:
    """Transaction ids of the next ``count`` transfer events on the stream."""
    ids: list[int] = []
    while len(ids) < count:
        event = await stream.next(timeout=20.0)
        if event.event == "message" and event.json["name"] == "transfer":
            ids.append(event.json["data"]["transaction_id"])
    return ids


async def test_a_redis_outage_never_fails_a_committed_write(
    postgres_url: str, own_redis: OwnRedis
) -> None:
    settings = settings_for(postgres_url, redis_url=own_redis.url)
    writer, reader = create_app(settings, internal_key=KEY), create_app(settings, internal_key=KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    guild = str(secrets.randbelow(10**17) + 10**17)
    base = f"/api/guilds/{guild}"
    async with (
        writer.router.lifespan_context(writer),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=writer), base_url="http://w", headers=auth
        ) as api,
        live_server(reader) as reader_url,
        httpx.AsyncClient(base_url=reader_url, headers=auth, timeout=30) as other,
    ):
        assert (await api.put(base, json={"name": "outage"})).status_code == 200
        config = {"rate_limit_per_minute": 10_000, "confirm_threshold": 10_000}
        assert (await api.put(f"{base}/bytes/config", json=config)).status_code == 200
        for n in range(CLIENTS):
            assert (await api.post(f"{base}/bytes/daily/{member(n)}")).status_code == 200
        assert (await other.get(f"{base}/bytes/config")).json()["currency_name"] == "bytes"

        async with open_stream(other, {"guilds": guild, "events": "transfer"}) as stream:
            statuses: list[int] = []

            async def client(n: int) -> None:
                for i in range(TRANSFERS_EACH):
                    if n == 0 and i == TRANSFERS_EACH // 3:
                        await asyncio.to_thread(own_redis.stop)
                    response = await api.post(
                        f"{base}/bytes/transactions",
                        json={"giver_id": member(n), "receiver_id": member(n + 1), "amount": 1},
                        headers={"Idempotency-Key": f"outage-{n}-{i}"},
                    )
                    statuses.append(response.status_code)

            await asyncio.gather(*(client(n) for n in range(CLIENTS)))
            # Settings changed while Redis is down: the other process must learn of it.
            changed = await api.put(f"{base}/bytes/config", json={"currency_name": "coins"})
            assert changed.status_code == 200
            assert statuses == [200] * CLIENTS * TRANSFERS_EACH

            await asyncio.to_thread(own_redis.start)
            ids = await _transfer_events(stream, CLIENTS * TRANSFERS_EACH)
            assert len(set(ids)) == len(ids) == CLIENTS * TRANSFERS_EACH
            await stream.nothing_within(1.5)  # and nothing twice

        listed = await api.get(
            f"{base}/bytes/transactions", params={"type": "transfer", "limit": 500}
        )
        assert sorted(t["id"] for t in listed.json()) == sorted(ids)
        async with asyncio.timeout(10):
            # Polling another process's answer: there is nothing here to wait on instead.
            while (await other.get(f"{base}/bytes/config")).json()["currency_name"] != "coins":  # noqa: ASYNC110
                await asyncio.sleep(0.2)
