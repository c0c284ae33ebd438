"""Bad input gets a clear 4xx in the error shape, and nothing at all is written.

Each test funds a member first and ends with a valid request that succeeds, so the refusals
are caused by the bad values and not by an unrelated failure.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from guildbank.platform.uow import Services
from tests.factories import bytes_url, db_snapshot, error_of, fund, member

GIVER = member(1)
RECEIVER = member(2)
VALID_TRANSFER: dict[str, Any] = {
    "giver_id": GIVER,
    "giver_username": "alice",
    "receiver_id": RECEIVER,
    "receiver_username": "bob",
    "amount": 10,
    "reason": "thanks",
}
BAD_IDS: list[Any] = [
    "abc",
    "12ab",
    "",
    " 123",
    "-5",
    "0",
    "0123",
    "1" * 21,
    str(2**63),
    "9" * 20,
    "1.5",
    "\uff11\uff12\uff13",  # full-width digits: str.isdigit() would let these through
    300000000000000001,  # a number, not a string
    None,
    [],
]
BAD_AMOUNTS: list[Any] = [0, -1, -(10**12), 10**30, 2**53, 1.5, "10", "ten", True, None, [], {}]
BAD_BODIES: list[Any] = [[], "transfer", 10, None, {"nested": VALID_TRANSFER}]


def with_(**changes: Any) -> dict[str, Any]:
    return {**VALID_TRANSFER, **changes}


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in VALID_TRANSFER.items() if k != field}


TRANSFER_CASES: list[Any] = [
    *(pytest.param(with_(giver_id=v), id=f"giver_id={v!r}") for v in BAD_IDS),
    *(pytest.param(with_(receiver_id=v), id=f"receiver_id={v!r}") for v in BAD_IDS),
    *(pytest.param(with_(amount=v), id=f"amount={v!r}") for v in BAD_AMOUNTS),
    pytest.param(with_(reason="x" * 201), id="reason-201-chars"),
    pytest.param(with_(reason=12), id="reason-number"),
    pytest.param(with_(giver_username="x" * 101), id="username-101-chars"),
    *(pytest.param(without(f), id=f"missing-{f}") for f in ("giver_id", "receiver_id", "amount")),
    *(pytest.param(b, id=f"body={b!r}"[:40]) for b in BAD_BODIES),
]


@pytest.fixture
async def funded(services: Services, guild: str) -> str:
    await fund(services, guild, GIVER, 1000)
    await fund(services, guild, RECEIVER, 1000)
    return guild


async def test_bad_transfers_are_422_and_write_nothing(
    api: httpx.AsyncClient, funded: str, services: Services, backend: str
) -> None:
    """One database per backend, every bad body in turn (fast, and one failure names its case)."""
    url = bytes_url(funded, "/transactions")
    before = await db_snapshot(services)
    for number, case in enumerate(TRANSFER_CASES):
        (body,) = case.values
        response = await api.post(url, json=body, headers={"Idempotency-Key": f"k-{number}"})
        assert response.status_code == 422, (case.id, response.status_code, response.text)
        error = error_of(response, 422, "validation_error")
        assert isinstance(error.get("errors"), list), error
        assert await db_snapshot(services) == before, case.id
    ok = await api.post(url, json=VALID_TRANSFER)
    assert ok.status_code == 200, ok.text
    assert await db_snapshot(services) != before


async def test_unparseable_json_is_422_and_writes_nothing(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    url = bytes_url(funded, "/transactions")
    before = await db_snapshot(services)
    for raw in (b"{", b"not json", b"", b'{"amount": NaN}', b"\xff\xfe"):
        response = await api.post(url, content=raw, headers={"Content-Type": "application/json"})
        error_of(response, 422, "validation_error")
    response = await api.post(url, content=b"giver_id=1", headers={"Content-Type": "text/plain"})
    assert 400 <= response.status_code < 500
    error_of(response, response.status_code)
    assert await db_snapshot(services) == before


async def test_business_rule_violations_are_400_and_write_nothing(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    url = bytes_url(funded, "/transactions")
    before = await db_snapshot(services)
    cases = [
        (with_(receiver_id=GIVER), "self_transfer"),
        (with_(amount=1001), "amount_over_limit"),
        (with_(amount=1000, giver_id=member(3)), "insufficient_balance"),
    ]
    for body, code in cases:
        error_of(await api.post(url, json=body), 400, code)
    assert await db_snapshot(services) == before


async def test_malformed_user_ids_in_paths_are_422_and_write_nothing(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    before = await db_snapshot(services)
    for user_id in ("abc", "12ab", "1" * 21, str(2**63), "9" * 20, "0", "-1", "1e5"):
        for method, path in (
            ("POST", f"/daily/{user_id}"),
            ("GET", f"/balance/{user_id}"),
            ("GET", f"/history/{user_id}"),
            ("GET", f"/leaderboard/rank/{user_id}"),
        ):
            response = await api.request(method, bytes_url(funded, path))
            error_of(response, 422, "validation_error")
    assert await db_snapshot(services) == before
    assert (await api.post(bytes_url(funded, f"/daily/{member(5)}"))).status_code == 200


async def test_bad_query_parameters_are_422(api: httpx.AsyncClient, funded: str) -> None:
    url = bytes_url(funded, "/transactions")
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"limit": "x"},
        {"offset": -1},
        {"offset": 2**64},
        {"sort": "random"},
        {"user_id": "abc"},
        {"start": "yesterday"},
        {"type": "t" * 33},
    ):
        error_of(await api.get(url, params=params), 422, "validation_error")
    error_of(await api.get(url, params={"user_id": str(2**63)}), 400, "invalid_id")
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 2**64}):
        response = await api.get(bytes_url(funded, f"/history/{GIVER}"), params=params)
        error_of(response, 422, "validation_error")


async def test_malformed_transaction_ids_are_refused(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    before = await db_snapshot(services)
    for transaction_id in ("abc", "0", "-1", "1.5", str(2**63), str(10**30)):
        response = await api.get(bytes_url(funded, f"/transactions/{transaction_id}"))
        error_of(response, 422, "validation_error")
        response = await api.post(
            bytes_url(funded, f"/transactions/{transaction_id}/reverse"), json={"reason": "x"}
        )
        error_of(response, 422, "validation_error")
    error_of(
        await api.get(bytes_url(funded, f"/transactions/{2**63 - 1}")), 404, "transaction_not_found"
    )
    assert await db_snapshot(services) == before


ADJUST: dict[str, Any] = {"user_id": GIVER, "action": "add", "amount": 5, "reason": "bonus"}


async def test_bad_adjustments_are_refused_and_write_nothing(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    url = bytes_url(funded, "/adjust")
    before = await db_snapshot(services)
    bad: list[dict[str, Any]] = [
        {**ADJUST, "action": "multiply"},
        {**ADJUST, "amount": -5},
        {**ADJUST, "amount": 10**30},
        {**ADJUST, "amount": 2.5},
        {**ADJUST, "amount": "5"},
        {**ADJUST, "reason": ""},
        {**ADJUST, "reason": "   "},
        {**ADJUST, "reason": "x" * 201},
        {**ADJUST, "user_id": "abc"},
        {**ADJUST, "user_id": str(2**63)},
        {**ADJUST, "actor_id": "me"},
        {k: v for k, v in ADJUST.items() if k != "reason"},
    ]
    for body in bad:
        error_of(await api.post(url, json=body), 422, "validation_error")
    for body, code in (
        ({**ADJUST, "amount": 0}, "invalid_amount"),
        ({**ADJUST, "action": "remove", "amount": 1001}, "insufficient_balance"),
    ):
        error_of(await api.post(url, json=body), 400, code)
    assert await db_snapshot(services) == before
    ok = await api.post(url, json=ADJUST)
    assert ok.status_code == 200, ok.text


async def test_bad_reversals_are_refused_and_write_nothing(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    sent = await api.post(bytes_url(funded, "/transactions"), json=VALID_TRANSFER)
    url = bytes_url(funded, f"/transactions/{sent.json()['id']}/reverse")
    before = await db_snapshot(services)
    for body in ({}, {"reason": ""}, {"reason": " "}, {"reason": "x" * 201}, {"reason": 5}):
        error_of(await api.post(url, json=body), 422, "validation_error")
    error_of(
        await api.post(bytes_url(funded, "/transactions/999999/reverse"), json={"reason": "x"}),
        404,
        "transaction_not_found",
    )
    assert await db_snapshot(services) == before


async def test_overlong_idempotency_key_is_refused(
    api: httpx.AsyncClient, funded: str, services: Services
) -> None:
    before = await db_snapshot(services)
    response = await api.post(
        bytes_url(funded, "/transactions"),
        json=VALID_TRANSFER,
        headers={"Idempotency-Key": "k" * 256},
    )
    error_of(response, 422, "invalid_idempotency_key")
    assert await db_snapshot(services) == before


async def test_every_integer_parameter_is_bounded_to_64_bits(
    api: httpx.AsyncClient, funded: str, app: Any
) -> None:
    """Numbers the database cannot hold are 422s, on every documented GET (never a 500)."""
    squad = await api.post(
        f"/api/guilds/{funded}/squads", json={"role_id": "555555555555555555", "name": "Alpha"}
    )
    assert squad.status_code in (200, 201), squad.text
    values = {"guild_id": funded, "user_id": GIVER, "squad_id": str(squad.json()["id"])}
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        if "get" not in operations:
            continue
        parameters = operations["get"].get("parameters", [])
        ints = [p for p in parameters if p["schema"].get("type") == "integer"]
        for parameter in ints:
            concrete = path
            for name in re.findall(r"{(\w+)}", path):
                value = str(2**64) if name == parameter["name"] else values.get(name, "1")
                concrete = concrete.replace(f"{{{name}}}", value)
            params = {parameter["name"]: str(2**64)} if parameter["in"] == "query" else {}
            response = await api.get(concrete, params=params)
            assert response.status_code == 422, (path, parameter["name"], response.text)
            checked += 1
    assert checked >= 6
