"""The typed API client: results, errors, what it retries, and both transports agreeing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from guildbank.bot.transport import ApiError, ApiUnavailable
from guildbank.features.economy.schemas import (
    AdjustOut,
    BalanceOut,
    DailyOut,
    IntegrityOut,
    LeaderboardEntryOut,
    MemberStatusOut,
    RankOut,
    ReversalOut,
    RoleRewardHolderOut,
    TransactionOut,
    TransferOut,
)
from guildbank.features.guilds.schemas import ConfigOut, GuildOut
from guildbank.platform.uow import Services
from guildbank.runtime.client import GuildbankClient
from tests.conftest import FakeClock, make_api_key
from tests.factories import member
from tests.fakes.ports import free_port

GUILD = "123456789012345678"
ALICE, BOB = member(1), member(2)


# -- typed results and errors, in process --------------------------------------------------------


@pytest.fixture
async def client(app: FastAPI, api_key: str) -> AsyncIterator[GuildbankClient]:
    api = GuildbankClient.in_process(app, api_key)
    try:
        yield api
    finally:
        await api.aclose()


async def test_every_call_returns_its_typed_model(client: GuildbankClient) -> None:
    guild = await client.register_guild(GUILD, "Typed")
    assert guild == GuildOut(id=GUILD, name="Typed", created=True)
    config = await client.update_config(GUILD, {"rate_limit_per_minute": 0, "daily_amount": 25})
    assert isinstance(config, ConfigOut)
    assert (config.daily_amount, config.currency_name) == (25, "bytes")
    assert await client.config(GUILD) == config

    unknown = await client.balance(GUILD, ALICE)
    assert isinstance(unknown, BalanceOut)
    assert (unknown.balance, unknown.daily_available, unknown.last_daily) == (100, True, None)

    daily = await client.claim_daily(GUILD, ALICE, idempotency_key="d-1")
    assert isinstance(daily, DailyOut)
    assert (daily.awarded, daily.balance, daily.streak_count) == (25, 125, 1)
    assert isinstance(daily.last_daily, date)

    sent = await client.transfer(
        GUILD, giver_id=ALICE, receiver_id=BOB, amount=40, reason="pizza", idempotency_key="t-1"
    )
    assert isinstance(sent, TransferOut)
    assert (sent.giver_balance, sent.receiver_balance, sent.reason) == (85, 140, "pizza")
    assert sent.roles_earned == []

    board = await client.leaderboard(GUILD, 5)
    assert all(isinstance(e, LeaderboardEntryOut) for e in board)
    assert [(e.rank, e.user_id, e.balance) for e in board] == [(1, BOB, 140), (2, ALICE, 85)]
    rank = await client.rank(GUILD, ALICE)
    assert rank == RankOut(rank=2, user_id=ALICE, balance=85, total_received=25, members=2)

    history = await client.history(GUILD, ALICE, 10)
    assert all(isinstance(t, TransactionOut) for t in history)
    assert [t.type for t in history] == ["transfer", "daily", "starting_balance"]
    assert {e.user_id: e.amount for e in history[0].entries} == {ALICE: -40, BOB: 40}
    transfers = await client.transactions(GUILD, type="transfer", user_id=None)
    assert [t.id for t in transfers] == [sent.id]

    await client.update_config(GUILD, {"role_rewards": {"999999999999999999": 30}})
    holders = await client.role_reward_holders(GUILD)
    assert all(isinstance(h, RoleRewardHolderOut) for h in holders)
    # Received so far: alice 25 (her daily), bob 40 (the transfer).
    assert [(h.user_id, h.total_received, h.role_ids) for h in holders] == [
        (BOB, 40, ["999999999999999999"])
    ]

    adjusted = await client.adjust(
        GUILD,
        user_id=BOB,
        action="add",
        amount=10,
        reason="bonus",
        actor_id=ALICE,
        idempotency_key="a-1",
    )
    assert adjusted == AdjustOut(
        guild_id=GUILD,
        user_id=BOB,
        action="add",
        delta=10,
        balance=150,
        transaction_id=adjusted.transaction_id,
    )
    reversal = await client.reverse(
        GUILD, sent.id, reason="refund", actor_id=ALICE, idempotency_key="r-1"
    )
    assert isinstance(reversal, ReversalOut)
    assert (reversal.reverses_id, reversal.amount) == (sent.id, 40)

    integrity = await client.integrity(GUILD)
    assert isinstance(integrity, IntegrityOut)
    assert (integrity.ok, integrity.total, integrity.problems) == (True, 0, [])

    status = await client.set_member_active(GUILD, BOB, False)
    assert status == MemberStatusOut(guild_id=GUILD, user_id=BOB, active=False, known=True)
    assert [e.user_id for e in await client.leaderboard(GUILD)] == [ALICE]


async def test_refusals_are_api_errors_with_code_detail_and_fields(
    client: GuildbankClient, services: Services, app: FastAPI, clock: FakeClock
) -> None:
    with pytest.raises(ApiError) as missing:
        await client.config(GUILD)
    assert (missing.value.status, missing.value.code) == (404, "guild_not_found")
    assert missing.value.fields == {"guild_id": GUILD}
    assert not isinstance(missing.value, ApiUnavailable)

    await client.register_guild(GUILD)
    with pytest.raises(ApiError) as poor:
        await client.transfer(
            GUILD, giver_id=ALICE, receiver_id=BOB, amount=150, reason=None, idempotency_key="x"
        )
    assert (poor.value.status, poor.value.code) == (400, "insufficient_balance")
    assert poor.value.detail == "You have 100 bytes; you tried to send 150 (insufficient balance)."
    assert str(poor.value) == poor.value.detail
    assert poor.value.fields == {"available": 100, "needed": 150}

    await client.claim_daily(GUILD, ALICE, idempotency_key="first")
    with pytest.raises(ApiError) as again:
        await client.claim_daily(GUILD, ALICE, idempotency_key="second")
    assert (again.value.status, again.value.code) == (409, "already_claimed")
    assert again.value.fields == {"retry_after_seconds": 12 * 3600}  # the clock is at noon

    with pytest.raises(ApiError) as invalid:
        await client.leaderboard(GUILD, 0)
    assert invalid.value.status == 422

    reader = GuildbankClient.in_process(app, await make_api_key(services, ("read",)))
    stranger = GuildbankClient.in_process(app, "not-a-key")
    try:
        with pytest.raises(ApiError) as forbidden:
            await reader.claim_daily(GUILD, BOB, idempotency_key="nope")
        assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
        with pytest.raises(ApiError) as unauthorized:
            await stranger.balance(GUILD, BOB)
        assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")
    finally:
        await reader.aclose()
        await stranger.aclose()


async def test_a_replayed_idempotency_key_returns_the_first_result(
    client: GuildbankClient,
) -> None:
    await client.register_guild(GUILD)
    await client.update_config(GUILD, {"rate_limit_per_minute": 0})
    first = await client.transfer(
        GUILD, giver_id=ALICE, receiver_id=BOB, amount=5, reason=None, idempotency_key="same"
    )
    again = await client.transfer(
        GUILD, giver_id=ALICE, receiver_id=BOB, amount=5, reason=None, idempotency_key="same"
    )
    assert again == first
    assert len(await client.transactions(GUILD, type="transfer")) == 1
    with pytest.raises(ApiError) as reused:
        await client.transfer(
            GUILD, giver_id=ALICE, receiver_id=BOB, amount=6, reason=None, idempotency_key="same"
        )
    assert reused.value.code == "idempotency_key_reused"


# -- what is retried: a scripted transport ------------------------------------------------------


class Script:
    """An httpx MockTransport answering from a script and recording every attempt."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.attempts: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if answer >= 400:
            body = {"detail": f"status {answer}", "code": "scripted"}
            return httpx.Response(answer, json=body)
        return httpx.Response(answer, json=_CONFIG)

    def client(self, delays: tuple[float, ...] = (0.0, 0.0)) -> GuildbankClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self), base_url="http://api")
        return GuildbankClient(http, retry_delays=delays)


_CONFIG: dict[str, Any] = {
    "starting_balance": 100,
    "daily_amount": 10,
    "streak_bonuses": {"8": 2},
    "max_transfer": 1000,
    "transfer_cooldown_hours": 0,
    "confirm_threshold": 100,
    "rate_limit_per_minute": 5,
    "role_rewards": {},
    "currency_name": "bytes",
    "currency_emoji": "💰",
    "timezone": "UTC",
}
CONNECT_ERROR = httpx.ConnectError("connection refused")

Call = Callable[[GuildbankClient], Any]


def _get(api: GuildbankClient) -> Any:
    return api.config(GUILD)


def _idempotent_write(api: GuildbankClient) -> Any:
    return api.update_config(GUILD, {"daily_amount": 10}, idempotency_key="k")


def _plain_write(api: GuildbankClient) -> Any:
    return api.update_config(GUILD, {"daily_amount": 10})


@pytest.mark.parametrize("failure", [502, 503, 504, CONNECT_ERROR])
@pytest.mark.parametrize("call", [_get, _idempotent_write])
async def test_reads_and_idempotent_writes_are_retried_through_transient_failures(
    call: Call, failure: int | Exception
) -> None:
    script = Script(failure, failure, 200)
    api = script.client()
    result = await call(api)
    await api.aclose()
    assert isinstance(result, ConfigOut)
    assert len(script.attempts) == 3
    keys = {r.headers.get("idempotency-key") for r in script.attempts}
    assert keys == ({None} if call is _get else {"k"})  # the same key on every attempt


@pytest.mark.parametrize("failure", [503, CONNECT_ERROR])
@pytest.mark.parametrize("call", [_get, _idempotent_write])
async def test_retries_give_up_with_api_unavailable(call: Call, failure: int | Exception) -> None:
    script = Script(failure)
    api = script.client()
    with pytest.raises(ApiUnavailable) as gave_up:
        await call(api)
    await api.aclose()
    assert len(script.attempts) == 3  # the first try and two retries
    assert gave_up.value.code == "unavailable"
    assert gave_up.value.status == (0 if isinstance(failure, Exception) else 503)


@pytest.mark.parametrize("failure", [503, CONNECT_ERROR])
async def test_a_write_without_an_idempotency_key_is_never_retried(
    failure: int | Exception,
) -> None:
    script = Script(failure, 200)
    api = script.client()
    with pytest.raises(ApiUnavailable):
        await _plain_write(api)
    await api.aclose()
    assert len(script.attempts) == 1  # it may have been applied: retrying could apply it twice


@pytest.mark.parametrize(("status", "unavailable"), [(500, True), (409, False), (400, False)])
async def test_errors_that_a_retry_cannot_fix_are_not_retried(
    status: int, unavailable: bool
) -> None:
    script = Script(status, 200)
    api = script.client()
    with pytest.raises(ApiError) as refused:
        await _get(api)
    await api.aclose()
    assert len(script.attempts) == 1
    assert isinstance(refused.value, ApiUnavailable) is unavailable
    assert refused.value.status == status
    if not unavailable:
        assert (refused.value.code, refused.value.detail) == ("scripted", f"status {status}")


async def test_retries_wait_between_attempts() -> None:
    script = Script(503, 503, 200)
    api = script.client(delays=(0.05, 0.1))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _get(api)
    await api.aclose()
    assert loop.time() - started >= 0.15


# -- in process and over HTTP agree --------------------------------------------------------------


@pytest.fixture
async def http_base(app: FastAPI) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free 127.0.0.1 port."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # uvicorn exposes a flag only, no event
            if serving.done():
                await serving
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_in_process_and_over_http_give_the_same_answers(
    app: FastAPI, api_key: str, http_base: str
) -> None:
    local = GuildbankClient.in_process(app, api_key)
    remote = GuildbankClient.over_http(http_base + "/", api_key)  # a trailing slash is fine
    try:
        await remote.register_guild(GUILD, "Both ways")
        await local.update_config(GUILD, {"rate_limit_per_minute": 0})
        sent = await remote.transfer(
            GUILD, giver_id=ALICE, receiver_id=BOB, amount=30, reason="hi", idempotency_key="t"
        )
        replayed = await local.transfer(
            GUILD, giver_id=ALICE, receiver_id=BOB, amount=30, reason="hi", idempotency_key="t"
        )
        assert replayed == sent  # one key, one transfer, whichever transport replays it
        for api in (local, remote):
            assert (await api.balance(GUILD, BOB)).balance == 130
        assert await local.history(GUILD, ALICE) == await remote.history(GUILD, ALICE)
        assert await local.config(GUILD) == await remote.config(GUILD)

        refusals = []
        for api in (local, remote):
            with pytest.raises(ApiError) as refused:
                await api.transfer(
                    GUILD,
                    giver_id=ALICE,
                    receiver_id=BOB,
                    amount=999,
                    reason=None,
                    idempotency_key="big",
                )
            refusals.append(
                (
                    refused.value.status,
                    refused.value.code,
                    refused.value.detail,
                    refused.value.fields,
                )
            )
        assert refusals[0] == refusals[1]
        assert refusals[0][:2] == (400, "insufficient_balance")

        wrong_key = GuildbankClient.over_http(http_base, "wrong")
        with pytest.raises(ApiError) as unauthorized:
            await wrong_key.balance(GUILD, ALICE)
        await wrong_key.aclose()
        assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")
    finally:
        await local.aclose()
        await remote.aclose()
