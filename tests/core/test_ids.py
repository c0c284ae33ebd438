"""Discord ids: the API's bodies refuse what the dashboard's forms refuse (fewer than 17
digits, a leading zero, not digits, 2**63 and above) with a 422 that says why, on SQLite and
PostgreSQL, and nothing is stored; the document's pattern says exactly the same."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from guildbank.core.ids import (
    DISCORD_ID_PATTERN,
    MAX_SNOWFLAKE,
    MIN_DISCORD_ID,
    is_discord_id,
    is_snowflake,
    snowflake_problem,
)
from guildbank.core.schemas import Snowflake
from guildbank.platform.uow import Services
from guildbank.web.forms import discord_id_problem
from tests.factories import db_snapshot, error_of, member

SHORT = ("1", "12", "999", str(MIN_DISCORD_ID - 1))
GOOD = (str(MIN_DISCORD_ID), "300000000000000001", str(MAX_SNOWFLAKE))
BAD_FORM = ("0", "012", "abc", "-5", "1.5", "", str(MAX_SNOWFLAKE + 1), "9" * 20)


@pytest.mark.parametrize("value", GOOD)
def test_real_ids_pass_everywhere(value: str) -> None:
    assert is_snowflake(value)
    assert is_discord_id(value)
    assert snowflake_problem(value) is None
    assert TypeAdapter(Snowflake).validate_python(value) == value
    assert re.fullmatch(DISCORD_ID_PATTERN, value)
    assert discord_id_problem(value, "role") is None


@pytest.mark.parametrize("value", SHORT + BAD_FORM)
def test_the_api_and_the_dashboard_refuse_the_same_ids(value: str) -> None:
    assert not is_discord_id(value)
    assert not re.fullmatch(DISCORD_ID_PATTERN, value)
    with pytest.raises(ValidationError):
        TypeAdapter(Snowflake).validate_python(value)
    assert discord_id_problem(value, "role") is not None


@pytest.mark.parametrize("value", SHORT)
def test_a_short_id_is_refused_saying_why(value: str) -> None:
    problem = snowflake_problem(value)
    assert problem is not None
    assert problem.startswith("Must be a Discord id")
    assert "17 to 19 digits" in problem
    assert is_snowflake(value)  # still storable: lookups by such an id simply find nothing
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Snowflake).validate_python(value)
    assert "17 to 19 digits" in str(refused.value)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/settings", {"role_rewards": {"1": 100}}),
        ("PUT", "/settings", {"admin_role_ids": ["12"]}),
        ("PUT", "/settings", {"log_channel_id": "999"}),
        ("POST", "/squads", {"role_id": "1", "name": "Ones"}),
        ("POST", "/squads/1/join", {"user_id": "999"}),
        (
            "POST",
            "/bytes/transactions",
            {"giver_id": member(1), "receiver_id": "999", "amount": 1},
        ),
        (
            "POST",
            "/bytes/adjust",
            {"user_id": "999", "action": "add", "amount": 5, "reason": "typo"},
        ),
        ("POST", "/announcements", {"channel_id": "123", "content": "hi"}),
    ],
)
async def test_the_api_refuses_short_role_member_and_channel_ids(
    api: httpx.AsyncClient,
    guild: str,
    services: Services,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    before = await db_snapshot(services)
    response = await api.request(method, f"/api/guilds/{guild}{path}", json=body)
    refused = error_of(response, 422, "validation_error")
    assert "17 to 19 digits" in str(refused), refused
    assert await db_snapshot(services) == before
