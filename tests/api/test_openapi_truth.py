"""The OpenAPI document says what the API answers: errors modelled and listed per operation,
405s and ``Allow`` complete, bodies refused the same way on every route. (The fuzzing of the
whole document is tests/api/test_openapi_fuzz.py; these pin each finding of issue 10.)"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import jsonschema_rs
import pytest

from guildbank.core.ids import DISCORD_ID_PATTERN, MAX_SNOWFLAKE
from guildbank.platform.uow import Services
from guildbank.runtime.app import create_app
from tests.conftest import settings_for
from tests.factories import bytes_url, error_of, fund, member

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The served document (building it needs no database)."""
    app = create_app(settings_for("sqlite+aiosqlite:///:memory:"))
    openapi: dict[str, Any] = app.openapi()
    return openapi


def _api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in {"get", *WRITES}
    ]


def _component(document: dict[str, Any], name: str) -> Any:
    """A component schema as a standalone JSON Schema (its references resolvable)."""
    return {**document["components"]["schemas"][name], "components": document["components"]}


def test_every_error_is_an_error_out_and_422_is_not_fastapis(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorOut"]["required"]) == {"detail", "code"}
    assert "errors" in schemas["ErrorOut"]["properties"]
    for method, path, operation in _api_operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_every_operation_lists_the_refusals_it_can_meet(document: dict[str, Any]) -> None:
    operations = _api_operations(document)
    assert len(operations) > 20
    for method, path, operation in operations:
        statuses = set(operation["responses"])
        assert {"401", "403", "503"} <= statuses, (method, path)
        assert operation["security"] == [{"bearer": []}], (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in statuses, (method, path)
        retry_after = operation["responses"]["503"]["headers"]["Retry-After"]
        assert retry_after["required"] is True
        if method in WRITES and not path.startswith("/api/outbox/"):
            # (the outbox worker's reports are made harmless to repeat by their lease)
            names = {p["name"] for p in operation["parameters"]}
            assert "Idempotency-Key" in names, (method, path)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_business_refusals_are_listed_per_route(document: dict[str, Any]) -> None:
    paths = document["paths"]
    transfer = paths["/api/guilds/{guild_id}/bytes/transactions"]["post"]["responses"]
    assert "insufficient_balance" in transfer["400"]["description"]
    assert "429" in transfer
    daily = paths["/api/guilds/{guild_id}/bytes/daily/{user_id}"]["post"]["responses"]
    assert "already_claimed" in daily["409"]["description"]
    join = paths["/api/guilds/{guild_id}/squads/{squad_id}/join"]["post"]["responses"]
    assert "squad_full" in join["409"]["description"]
    assert "squad_not_found" in join["404"]["description"]


def test_an_adjustment_of_zero_is_documented_as_refused_except_a_set(
    document: dict[str, Any],
) -> None:
    validator = jsonschema_rs.validator_for(_component(document, "AdjustIn"))
    base = {"user_id": member(1), "reason": "fix"}
    assert not validator.is_valid({**base, "action": "add", "amount": 0})
    assert not validator.is_valid({**base, "action": "remove", "amount": 0})
    assert validator.is_valid({**base, "action": "set", "amount": 0})
    assert validator.is_valid({**base, "action": "add", "amount": 1})


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("1", False),
        ("9" * 16, False),
        ("1" + "0" * 16, True),
        (str(MAX_SNOWFLAKE), True),
        (str(MAX_SNOWFLAKE + 1), False),
        ("9" * 19, False),
        ("1" * 20, False),
        ("0", False),
        ("012", False),
    ],
)
def test_discord_ids_are_documented_exactly(
    document: dict[str, Any], value: str, valid: bool
) -> None:
    """The document admits exactly the ids the API accepts (17 digits up to 2**63 - 1), not
    any 20 digits nor ids too short to be Discord's."""
    assert bool(re.match(DISCORD_ID_PATTERN, value)) is valid
    balance = document["paths"]["/api/guilds/{guild_id}/bytes/balance/{user_id}"]["get"]
    (user_id,) = (p for p in balance["parameters"] if p["name"] == "user_id")
    assert user_id["schema"]["pattern"] == DISCORD_ID_PATTERN
    transfer = document["paths"]["/api/guilds/{guild_id}/bytes/transactions"]["post"]
    body = transfer["requestBody"]["content"]["application/json"]["schema"]  # inline: lean
    # A member's id in a body: also 17 digits or more, as the dashboard requires (core/ids.py).
    assert body["properties"]["giver_id"]["pattern"] == DISCORD_ID_PATTERN


async def test_put_on_a_static_squads_path_is_405_not_a_squad_id(
    api: httpx.AsyncClient, guild: str
) -> None:
    response = await api.put(f"/api/guilds/{guild}/squads/leaderboard", json={})
    error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"


async def test_405_and_options_name_every_method_of_the_resource(
    api: httpx.AsyncClient, guild: str
) -> None:
    squad = f"/api/guilds/{guild}/squads/1"
    patched = await api.patch(squad, json={})
    error_of(patched, 405, "method_not_allowed")
    assert patched.headers["Allow"] == "DELETE, GET, PUT"
    options = await api.options(bytes_url(guild, "/config"))
    assert options.status_code == 204
    assert options.headers["Allow"] == "GET, PUT, OPTIONS"
    transactions = await api.options(bytes_url(guild, "/transactions"))  # a lean route + a read
    assert transactions.headers["Allow"] == "GET, POST, OPTIONS"


async def test_the_transfer_refuses_a_body_not_sent_as_json_like_every_route(
    api: httpx.AsyncClient, services: Services, guild: str
) -> None:
    await fund(services, guild, member(1), 100)
    body = json.dumps({"giver_id": member(1), "receiver_id": member(2), "amount": 1})
    as_text = {"Content-Type": "text/plain"}
    transfer = await api.post(bytes_url(guild, "/transactions"), content=body, headers=as_text)
    other = await api.post(
        f"/api/guilds/{guild}/squads/leave",
        content=json.dumps({"user_id": member(1)}),
        headers=as_text,
    )
    refused = error_of(transfer, 422, "validation_error")
    assert refused == error_of(other, 422, "validation_error")
    assert refused["errors"][0]["type"] == "model_attributes_type"
    empty = await api.post(bytes_url(guild, "/transactions"), content=b"")
    assert error_of(empty, 422, "validation_error")["errors"][0]["type"] == "missing"
    as_json = {"Content-Type": "application/json; charset=utf-8"}
    sent = await api.post(bytes_url(guild, "/transactions"), content=body, headers=as_json)
    assert sent.status_code == 200, sent.text


async def test_a_date_filter_must_be_a_date_time(api: httpx.AsyncClient, guild: str) -> None:
    """``start=0.5`` is no date-time, as the document says; pydantic alone read it as 1970."""
    refused = await api.get(bytes_url(guild, "/transactions"), params={"start": "0.5"})
    error_of(refused, 422, "validation_error")
    ok = await api.get(bytes_url(guild, "/transactions"), params={"start": "2026-03-14T12:00:00Z"})
    assert ok.status_code == 200, ok.text
