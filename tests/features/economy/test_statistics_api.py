"""``GET /api/guilds/{g}/transactions/statistics`` and the overview's economy charts, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from guildbank.platform.uow import Services
from tests.conftest import GUILD_ID, OTHER_GUILD_ID, FakeClock
from tests.factories import error_of, fund, member, send

A, B, C = member(1), member(2), member(3)


def statistics_url(guild: str) -> str:
    return f"/api/guilds/{guild}/transactions/statistics"


async def statistics(api: httpx.AsyncClient, guild: str, **params: Any) -> dict[str, Any]:
    response = await api.get(statistics_url(guild), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_statistics_by_period_and_member(
    api: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    await fund(services, guild, A, 500)
    clock.advance(days=3)
    await send(services, guild, A, B, 100)
    clock.advance(hours=1)
    await send(services, guild, B, C, 30)
    day = await statistics(api, guild, period="day")
    assert day == {
        "guild_id": guild,
        "user_id": None,
        "period": "day",
        "start": (clock.now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "end": clock.now.isoformat().replace("+00:00", "Z"),
        "transactions": 4,
        "volume": 330,
        "earned": 330,
        "spent": 130,
        "by_type": [
            {
                "type": "starting_balance",
                "transactions": 2,
                "volume": 200,
                "earned": 200,
                "spent": 0,
            },
            {"type": "transfer", "transactions": 2, "volume": 130, "earned": 130, "spent": 130},
        ],
        "active_members": 3,
        "money_supply_start": 500,
        "money_supply_end": 700,
        "balance_start": None,
        "balance_end": None,
    }
    default = await statistics(api, guild)
    assert default["period"] == "all"
    assert (default["start"], default["money_supply_start"], default["money_supply_end"]) == (
        None,
        0,
        700,
    )
    week = await statistics(api, guild, period="week", user_id=A)
    assert (week["user_id"], week["earned"], week["spent"]) == (A, 500, 100)
    assert (week["balance_start"], week["balance_end"]) == (0, 400)
    month = await statistics(api, guild, period="month")
    assert (
        month["earned"] - month["spent"] == month["money_supply_end"] - month["money_supply_start"]
    )


async def test_statistics_refusals(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, guild: str
) -> None:
    for params in (
        {"period": "year"},
        {"user_id": "abc"},
        {"user_id": "99999999999999999999"},
    ):
        error_of(await api.get(statistics_url(guild), params=params), 422)
    error_of(await api.get(statistics_url(OTHER_GUILD_ID)), 404)
    assert (await anonymous.get(statistics_url(guild))).status_code == 401


async def test_statistics_are_documented(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/api/openapi.json")).json()["paths"]
    stats = paths["/api/guilds/{guild_id}/transactions/statistics"]["get"]
    assert "PeriodStatisticsOut" in str(stats["responses"]["200"])
    export = paths["/api/guilds/{guild_id}/transactions/export"]["get"]
    assert "text/csv; charset=utf-8" in export["responses"]["200"]["content"]
    assert {p["name"] for p in export["parameters"]} >= {
        "user_id",
        "type",
        "start",
        "end",
        "sort",
    }


async def test_the_overview_shows_supply_velocity_and_gini(
    admin: httpx.AsyncClient, services: Services, guild: str, clock: FakeClock
) -> None:
    await fund(services, guild, A, 300)
    await fund(services, guild, B, 100)
    clock.advance(days=1)
    await send(services, guild, A, B, 200)
    response = await admin.get(f"/admin/guilds/{GUILD_ID}")
    assert response.status_code == 200
    page = response.text
    assert 'data-stat="gini">0.25<' in page  # 100 and 300: |100-300|·2 / (2·2·400)
    # 200 spent in 30 days; 400 held on two of them, nothing before: 200 / (800 / 30).
    assert 'data-stat="velocity">7.50<' in page
    assert 'data-chart="velocity"' in page
    assert 'data-chart="gini"' in page
    assert "Gini coefficient of member balances" in page
    assert ": 0.50 per day</title>" in page  # today's velocity point: 200 / 400
    assert ": 0.25 </title>" in page  # the Gini points
