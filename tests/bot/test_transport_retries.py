"""The bot's API client through a database fault: it retries safe calls (reads, keyed writes)
a bounded number of times, never sooner than the API's ``Retry-After`` nor past what a member
would wait, and then tells the member to try again in a moment."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from guildbank.bot.errors import TRY_AGAIN, explain
from guildbank.bot.transport import ApiTransport, ApiUnavailable, retry_after_seconds
from guildbank.features.economy import queries
from guildbank.features.guilds.service import register_guild, update_config
from guildbank.platform.bus import InProcessBus
from guildbank.platform.engine import create_engine
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.client import GuildbankClient
from tests.conftest import GUILD_ID, FakeClock, settings_for
from tests.factories import member

UNAVAILABLE = {"detail": "The database is unavailable", "code": "database_unavailable"}
OK = {"ok": True}


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The transport's waits, recorded instead of slept."""
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("guildbank.bot.transport.asyncio.sleep", sleep)
    return waits


def _client(*answers: httpx.Response) -> tuple[ApiTransport, list[httpx.Request]]:
    script = list(answers)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return script.pop(0) if len(script) > 1 else script[0]

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://api")
    return ApiTransport(http), seen


def _unavailable(retry_after: str | None = "1") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(503, json=UNAVAILABLE, headers=headers)


async def test_a_read_waits_as_long_as_retry_after_says_then_succeeds(slept: list[float]) -> None:
    api, seen = _client(_unavailable("1"), _unavailable("1"), httpx.Response(200, json=OK))
    assert await api._request("GET", "/api/read") == OK
    await api.aclose()
    assert len(seen) == 3
    assert slept == [1.0, 1.0]  # the API's Retry-After, longer than the backoff


async def test_a_keyed_write_is_retried_with_the_same_key(slept: list[float]) -> None:
    api, seen = _client(_unavailable(None), httpx.Response(200, json=OK))
    assert await api._request("POST", "/api/write", json={}, idempotency_key="interaction-1") == OK
    await api.aclose()
    assert [r.headers["idempotency-key"] for r in seen] == ["interaction-1"] * 2
    assert slept == [0.2]  # no Retry-After: the backoff


async def test_retries_are_bounded_and_explained_to_the_member(slept: list[float]) -> None:
    api, seen = _client(_unavailable("1"))
    with pytest.raises(ApiUnavailable) as gave_up:
        await api._request("GET", "/api/read")
    await api.aclose()
    assert len(seen) == 3  # the first try and two retries
    assert sum(slept) <= 2.0  # a Discord interaction must be answered within 3 s
    assert gave_up.value.status == 503
    assert gave_up.value.fields["api_code"] == "database_unavailable"
    assert explain(gave_up.value) == TRY_AGAIN
    assert "try again" in TRY_AGAIN.lower()


async def test_a_retry_after_longer_than_a_member_waits_gives_up_at_once(
    slept: list[float],
) -> None:
    api, seen = _client(_unavailable("30"), httpx.Response(200, json=OK))
    with pytest.raises(ApiUnavailable):
        await api._request("GET", "/api/read")
    await api.aclose()
    assert len(seen) == 1
    assert slept == []


async def test_a_write_without_a_key_is_not_retried_on_503(slept: list[float]) -> None:
    api, seen = _client(_unavailable("1"), httpx.Response(200, json=OK))
    with pytest.raises(ApiUnavailable):
        await api._request("POST", "/api/write", json={})
    await api.aclose()
    assert len(seen) == 1
    assert slept == []


def test_retry_after_is_read_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sat, 14 Mar 2026 12:00:05 GMT", now=now) == 5.0
    assert retry_after_seconds("Sat, 14 Mar 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_the_bot_rides_out_a_locked_database(
    tmp_path: Path, sqlite_template: Path, clock: FakeClock
) -> None:
    """End to end, in-process: the first attempt meets a locked database (503), the lock goes,
    the retry (same key) pays the daily once."""
    path = tmp_path / "bot.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=150")
        cursor.close()

    services = Services(engine=engine, bus=InProcessBus(), clock=clock)
    try:
        async with unit_of_work(services) as uow:
            await register_guild(uow, guild_id=GUILD_ID, name="Bot guild")
            await update_config(uow, guild_id=GUILD_ID, changes={"rate_limit_per_minute": 0})
            await uow.commit()
        await services.relay.drain()
        app = create_app(settings_for(url), services, internal_key="bot-key")
        api = GuildbankClient.in_process(app, "bot-key")
        locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")

        async def unlock_soon() -> None:
            await asyncio.sleep(0.3)  # after the first attempt, before the retry (1 s)
            await asyncio.to_thread(locker.rollback)

        unlocking = asyncio.create_task(unlock_soon())
        daily = await api.claim_daily(GUILD_ID, member(1), idempotency_key="interaction-7")
        await unlocking
        locker.close()
        again = await api.claim_daily(GUILD_ID, member(1), idempotency_key="interaction-7")
        await api.aclose()
        assert daily.transaction_id == again.transaction_id  # the replay paid nothing more
        assert await _balance(services) == daily.balance > 0
        await services.relay.drain()
    finally:
        await services.close()


async def _balance(services: Services) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        view = await queries.get_balance(uow, guild_id=GUILD_ID, user_id=member(1))
    return view.balance
