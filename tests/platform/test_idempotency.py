"""Idempotency records: what "the same request" is, what differs, and the purge after the
retention period (run by the web process), on both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from guildbank.platform import idempotency
from guildbank.platform.idempotency import IdempotentRequest
from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import FakeClock, settings_for
from tests.factories import bytes_url, fund, member

RETENTION = timedelta(hours=24)


def request(
    body: bytes, *, method: str = "POST", path: str = "/p", key: str = "k"
) -> IdempotentRequest:
    return IdempotentRequest.of(owner=1, key=key, guild_id="1", method=method, path=path, body=body)


def test_key_order_and_whitespace_are_not_part_of_the_request() -> None:
    compact = request(b'{"a":1,"b":{"y":[1,2],"x":null}}')
    spaced = request(b'{ "b": {"x": null,\n "y": [1, 2]},\t"a": 1 }')
    assert compact.fingerprint == spaced.fingerprint
    assert compact.canonical == spaced.canonical == '{"a":1,"b":{"x":null,"y":[1,2]}}'
    assert request(b"").fingerprint == request(b"  ").fingerprint
    assert request(b"").canonical is None
    # Values are compared as JSON: 1 and 1.0, true and 1, "1" and 1 are different requests.
    assert len({request(b'{"a":%s}' % v).fingerprint for v in (b"1", b"1.0", b"true", b'"1"')}) == 4
    # Method and path are part of the request.
    assert request(b"{}").fingerprint != request(b"{}", method="PUT").fingerprint
    assert request(b"{}").fingerprint != request(b"{}", path="/q").fingerprint


def test_what_differs_is_named() -> None:
    first = request(b'{"amount": 1, "reason": "a", "to": "x"}')
    assert request(b'{"amount": 2, "to": "x", "reason": "a"}').differences(
        method=first.method, path=first.path, body=first.body
    ) == ["body.amount"]
    assert request(b'{"amount": 1, "to": "x"}').differences(
        method=first.method, path=first.path, body=first.body
    ) == ["body.reason"]
    assert request(b'{"amount": 1, "reason": "a", "to": "x"}', path="/q").differences(
        method=first.method, path=first.path, body=first.body
    ) == ["path"]
    assert request(b"", method="PUT", path="/q").differences(
        method=first.method, path=first.path, body=first.body
    ) == ["method", "path", "body"]
    assert request(b"[1]").differences(method="POST", path="/p", body=[2]) == ["body"]


async def _records(services: Services) -> int:
    async with unit_of_work(services, read_only=True) as uow:
        count = (
            await uow.session.execute(select(func.count()).select_from(IdempotencyRecord))
        ).scalar_one()
    return int(count)


async def _record(services: Services, key: str) -> None:
    async with unit_of_work(services) as uow:
        await idempotency.record(uow, request(b"{}", key=key), status_code=200, body={"ok": 1})
        await uow.commit()


async def test_records_older_than_the_retention_are_purged_in_batches(
    services: Services, clock: FakeClock
) -> None:
    for n in range(5):
        await _record(services, f"old-{n}")
    clock.advance(hours=23)
    await _record(services, "recent")
    clock.advance(hours=1, seconds=1)  # the old ones are now 24 h + 1 s old
    async with unit_of_work(services) as uow:
        assert await idempotency.purge_expired(uow, uow.now - RETENTION, limit=2) == 2
        await uow.commit()
    assert await idempotency.purge_all(services, retention=RETENTION) == 3
    assert await _records(services) == 1  # the recent one stays for its 24 h
    clock.advance(hours=23)
    assert await idempotency.purge_all(services, retention=RETENTION) == 1
    assert await _records(services) == 0


async def test_a_purged_key_makes_a_new_request(
    api: httpx.AsyncClient, guild: str, services: Services, clock: FakeClock
) -> None:
    """Within the retention a key replays; once purged, the same key is a new write."""
    await fund(services, guild, member(1), 500)
    url = bytes_url(guild, "/transactions")
    body = {"giver_id": member(1), "receiver_id": member(2), "amount": 10}
    headers = {"Idempotency-Key": "monthly"}
    first = await api.post(url, json=body, headers=headers)
    clock.advance(hours=23, minutes=59)
    assert await idempotency.purge_all(services, retention=RETENTION) == 0
    assert (await api.post(url, json=body, headers=headers)).headers["idempotent-replayed"]
    clock.advance(minutes=2)
    assert await idempotency.purge_all(services, retention=RETENTION) == 1
    later = await api.post(url, json=body, headers=headers)
    assert later.status_code == 200, later.text
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert later.json()["giver_balance"] == 480


async def test_the_web_process_purges_expired_records(
    services: Services, database_url: str, clock: FakeClock
) -> None:
    await _record(services, "old")
    clock.advance(hours=25)
    await _record(services, "new")
    settings = settings_for(database_url, idempotency_purge_minutes=60)
    app: FastAPI = create_app(settings, services)
    async with app.router.lifespan_context(app):
        for _ in range(500):  # the purge runs as the app starts, then every 60 minutes
            if await _records(services) == 1:
                break
            await asyncio.sleep(0.01)
    assert await _records(services) == 1
