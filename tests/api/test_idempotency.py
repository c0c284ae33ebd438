"""``Idempotency-Key``: a replay returns the first response and moves nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from guildbank.platform.uow import Services
from tests.conftest import OTHER_GUILD_ID, make_api_key
from tests.factories import bytes_url, db_snapshot, error_of, fund, member

REPLAYED = "idempotent-replayed"


def transfer(amount: int = 100, giver: str = member(1), receiver: str = member(2)) -> Any:
    return {"giver_id": giver, "receiver_id": receiver, "amount": amount, "reason": "idem"}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def replay_is_identical(
    api: httpx.AsyncClient, services: Services, method: str, url: str, body: Any, status: int
) -> dict[str, Any]:
    """Send a write twice with one key: same status and body, and the second moves nothing."""
    first = await api.request(method, url, json=body, headers=key(f"{method}{url}"))
    assert first.status_code == status, first.text
    assert REPLAYED not in first.headers
    after_first = await db_snapshot(services)
    second = await api.request(method, url, json=body, headers=key(f"{method}{url}"))
    assert second.status_code == status, second.text
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert await db_snapshot(services) == after_first
    result: dict[str, Any] = first.json()
    return result


async def test_transfer_replay(api: httpx.AsyncClient, guild: str, services: Services) -> None:
    await fund(services, guild, member(1), 500)
    url = bytes_url(guild, "/transactions")
    await replay_is_identical(api, services, "POST", url, transfer(), 200)
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 400
    # Without a key the same request is a new transfer: the replay above was not luck.
    assert (await api.post(url, json=transfer())).status_code == 200
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 300


async def test_daily_replay_answers_the_first_result_not_409(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    url = bytes_url(guild, f"/daily/{member(1)}")
    first = await replay_is_identical(api, services, "POST", url, None, 200)
    assert first["balance"] == 110
    error_of(await api.post(url), 409, "already_claimed")


async def test_adjust_replay(api: httpx.AsyncClient, guild: str, services: Services) -> None:
    body = {"user_id": member(1), "action": "add", "amount": 50, "reason": "bonus"}
    result = await replay_is_identical(
        api, services, "POST", bytes_url(guild, "/adjust"), body, 200
    )
    assert result["balance"] == 150


async def test_reverse_replay_keeps_201(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 500)
    sent = (await api.post(bytes_url(guild, "/transactions"), json=transfer())).json()
    url = bytes_url(guild, f"/transactions/{sent['id']}/reverse")
    result = await replay_is_identical(api, services, "POST", url, {"reason": "mistake"}, 201)
    assert result["reverses_id"] == sent["id"]
    error_of(await api.post(url, json={"reason": "mistake"}), 409, "already_reversed")


async def test_config_and_guild_replay(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await replay_is_identical(
        api, services, "PUT", bytes_url(guild, "/config"), {"daily_amount": 25}, 200
    )
    created = await replay_is_identical(
        api, services, "PUT", f"/api/guilds/{OTHER_GUILD_ID}", {"name": "x"}, 200
    )
    assert created["created"] is True


async def test_same_key_with_a_different_request_is_409(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 500)
    url = bytes_url(guild, "/transactions")
    assert (await api.post(url, json=transfer(100), headers=key("k1"))).status_code == 200
    before = await db_snapshot(services)
    for method, target, body in (
        ("POST", url, transfer(101)),
        ("POST", url, transfer(100, receiver=member(3))),
        ("POST", bytes_url(guild, f"/daily/{member(1)}"), None),
        ("PUT", bytes_url(guild, "/config"), {"daily_amount": 1}),
    ):
        response = await api.request(method, target, json=body, headers=key("k1"))
        detail = error_of(response, 409, "idempotency_key_reused")["detail"]
        assert "Idempotency-Key" in detail
    assert await db_snapshot(services) == before


async def test_a_failed_write_does_not_use_up_its_key(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    url = bytes_url(guild, "/transactions")
    before = await db_snapshot(services)
    refused = await api.post(url, json=transfer(500), headers=key("retry-me"))
    error_of(refused, 400, "insufficient_balance")
    assert await db_snapshot(services) == before  # no idempotency record either
    await fund(services, guild, member(1), 500)
    retried = await api.post(url, json=transfer(500), headers=key("retry-me"))
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["giver_balance"] == 0
    again = await api.post(url, json=transfer(500), headers=key("retry-me"))
    assert again.headers[REPLAYED] == "true"
    assert again.json() == retried.json()


async def test_a_validation_error_does_not_use_up_its_key(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    url = bytes_url(guild, "/transactions")
    error_of(await api.post(url, json=transfer(0), headers=key("k")), 422, "validation_error")
    response = await api.post(url, json=transfer(10), headers=key("k"))
    assert response.status_code == 200, response.text


async def test_keys_are_scoped_per_guild(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await api.put(f"/api/guilds/{OTHER_GUILD_ID}", json={})
    for guild_id in (guild, OTHER_GUILD_ID):
        response = await api.post(bytes_url(guild_id, f"/daily/{member(1)}"), headers=key("same"))
        assert response.status_code == 200, response.text
        assert REPLAYED not in response.headers


async def test_the_key_is_shared_by_every_api_key(
    api: httpx.AsyncClient, app: Any, guild: str, services: Services
) -> None:
    """The bot retrying with a second service key must not pay twice."""
    url = bytes_url(guild, f"/daily/{member(1)}")
    first = await api.post(url, headers=key("bot-retry"))
    other = await make_api_key(services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {other}"},
    ) as client:
        second = await client.post(url, headers=key("bot-retry"))
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()


async def test_concurrent_duplicates_move_money_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 1000)
    before = await db_snapshot(services)
    url = bytes_url(guild, "/transactions")
    responses = await asyncio.gather(
        *(api.post(url, json=transfer(100), headers=key("burst")) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert sum(REPLAYED not in r.headers for r in responses) == 1
    after = await db_snapshot(services)
    assert after.transactions == before.transactions + 2  # the transfer + bob's opening balance
    assert after.idempotency_records == before.idempotency_records + 1
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 900


async def test_concurrent_duplicate_dailies_pay_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    url = bytes_url(guild, f"/daily/{member(1)}")
    responses = await asyncio.gather(*(api.post(url, headers=key("d")) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 110


async def test_concurrent_duplicates_of_an_exact_balance_transfer_all_get_the_result(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    """The twins that wait find the balance spent: they still answer with the first result."""
    await fund(services, guild, member(1), 100)
    url = bytes_url(guild, "/transactions")
    responses = await asyncio.gather(
        *(api.post(url, json=transfer(100), headers=key("all-in")) for _ in range(6))
    )
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 0


async def test_concurrent_duplicate_reversals_reverse_once(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 500)
    sent = (await api.post(bytes_url(guild, "/transactions"), json=transfer())).json()
    url = bytes_url(guild, f"/transactions/{sent['id']}/reverse")
    responses = await asyncio.gather(
        *(api.post(url, json={"reason": "dup"}, headers=key("rev")) for _ in range(6))
    )
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    balance = (await api.get(bytes_url(guild, f"/balance/{member(1)}"))).json()
    assert balance["balance"] == 500
