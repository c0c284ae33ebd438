"""``Idempotency-Key``: a replay returns the first response and moves nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from guildbank.platform.models.access import IdempotencyRecord
from guildbank.platform.uow import Services, unit_of_work
from guildbank.runtime.app import create_app
from tests.conftest import OTHER_GUILD_ID, make_api_key, settings_for
from tests.factories import bytes_url, configure, db_snapshot, error_of, fund, member

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


async def test_same_key_with_a_different_request_is_409_naming_what_differs(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 500)
    url = bytes_url(guild, "/transactions")
    assert (await api.post(url, json=transfer(100), headers=key("k1"))).status_code == 200
    before = await db_snapshot(services)
    for method, target, body, differences in (
        ("POST", url, transfer(101), ["body.amount"]),
        ("POST", url, transfer(100, receiver=member(3)), ["body.receiver_id"]),
        ("POST", url, {**transfer(100), "reason": None}, ["body.reason"]),
        ("POST", url, {k: v for k, v in transfer(100).items() if k != "reason"}, ["body.reason"]),
        ("POST", bytes_url(guild, f"/daily/{member(1)}"), None, ["path", "body"]),
        ("PUT", bytes_url(guild, "/config"), {"daily_amount": 1}, ["method", "path", "body"]),
    ):
        response = await api.request(method, target, json=body, headers=key("k1"))
        error = error_of(response, 409, "idempotency_key_reused")
        assert error["differences"] == differences, (body, error)
        assert "Idempotency-Key" in error["detail"]
        assert ", ".join(differences) in error["detail"]
    assert await db_snapshot(services) == before


async def test_the_same_json_reserialised_is_a_replay_not_409(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    """Key order and whitespace are not part of the request: a re-serialised retry replays."""
    await fund(services, guild, member(1), 500)
    url = bytes_url(guild, "/transactions")
    headers = {**key("reserialised"), "Content-Type": "application/json"}
    compact = b'{"giver_id":"%s","receiver_id":"%s","amount":100,"reason":"idem"}' % (
        member(1).encode(),
        member(2).encode(),
    )
    first = await api.post(url, content=compact, headers=headers)
    assert first.status_code == 200, first.text
    after_first = await db_snapshot(services)
    spaced = b'{ "reason" : "idem",\n  "amount": 100, "receiver_id": "%s",\t"giver_id": "%s" }' % (
        member(2).encode(),
        member(1).encode(),
    )
    again = await api.post(url, content=spaced, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    assert await db_snapshot(services) == after_first


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


async def test_a_key_reused_on_another_guild_is_another_request(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    """Keys belong to the API key, not to a guild: the other guild's path differs."""
    await api.put(f"/api/guilds/{OTHER_GUILD_ID}", json={})
    first = await api.post(bytes_url(guild, f"/daily/{member(1)}"), headers=key("same"))
    assert first.status_code == 200, first.text
    other = await api.post(bytes_url(OTHER_GUILD_ID, f"/daily/{member(1)}"), headers=key("same"))
    assert error_of(other, 409, "idempotency_key_reused")["differences"] == ["path"]


async def test_keys_belong_to_the_api_key_that_sent_them(
    api: httpx.AsyncClient, app: Any, guild: str, services: Services
) -> None:
    """Integrator B re-using a key integrator A used gets its own transfer done, not A's
    stored response; each still gets its own replay."""
    await fund(services, guild, member(1), 500)
    await fund(services, guild, member(3), 500)
    url = bytes_url(guild, "/transactions")
    first = await api.post(url, json=transfer(100), headers=key("order-1"))
    assert first.status_code == 200, first.text
    other = await make_api_key(services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {other}"},
    ) as integrator_b:
        mine = await integrator_b.post(
            url, json=transfer(30, giver=member(3)), headers=key("order-1")
        )
        assert mine.status_code == 200, mine.text
        assert REPLAYED not in mine.headers
        assert mine.json()["id"] != first.json()["id"]
        assert mine.json()["giver_balance"] == 470
        replayed = await integrator_b.post(
            url, json=transfer(30, giver=member(3)), headers=key("order-1")
        )
        assert replayed.headers[REPLAYED] == "true"
        assert replayed.content == mine.content
    again = await api.post(url, json=transfer(100), headers=key("order-1"))
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    balances = [
        (await api.get(bytes_url(guild, f"/balance/{member(n)}"))).json()["balance"]
        for n in (1, 2, 3)
    ]
    assert balances == [400, 230, 470]


async def test_the_embedded_bot_is_one_key(
    guild: str, services: Services, database_url: str
) -> None:
    """The embedded bot's in-memory key (key id 0) owns its keys like any API key."""
    token = "embedded-bot-token"
    app = create_app(settings_for(database_url), services, internal_key=token)
    url = bytes_url(guild, f"/daily/{member(1)}")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as bot:
        first = await bot.post(url, headers=key("daily:1"))
        second = await bot.post(url, headers=key("daily:1"))
    assert first.status_code == second.status_code == 200, second.text
    assert second.headers[REPLAYED] == "true"
    async with unit_of_work(services, read_only=True) as uow:
        owners = (await uow.session.execute(select(IdempotencyRecord.api_key_id))).scalars().all()
    assert owners == [0]


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


async def test_the_transfer_documents_its_key_and_the_replayed_header(
    api: httpx.AsyncClient, guild: str
) -> None:
    operation = (await api.get("/api/openapi.json")).json()["paths"][
        "/api/guilds/{guild_id}/bytes/transactions"
    ]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]


async def test_a_replay_is_answered_even_once_the_member_is_rate_limited(
    api: httpx.AsyncClient, guild: str, services: Services
) -> None:
    """The retry of a transfer that went through is not a new balance change."""
    await fund(services, guild, member(1), 500)
    await configure(services, guild, rate_limit_per_minute=1)
    url = bytes_url(guild, "/transactions")
    first = await api.post(url, json=transfer(), headers=key("limited"))
    assert first.status_code == 200, first.text
    error_of(await api.post(url, json=transfer(), headers=key("other")), 429, "rate_limited")
    again = await api.post(url, json=transfer(), headers=key("limited"))
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
