"""``GET /api/guilds/{guild_id}/export``: admin scope, streamed, loads back."""

from __future__ import annotations

import httpx
import orjson
from fastapi import FastAPI

from guildbank.platform.uow import Services
from tests.conftest import make_api_key
from tests.factories import error_of, fund, member, send
from tests.features.backup.support import load_bytes

OTHER_GUILD = "100000000000000999"


async def test_an_admin_key_downloads_the_guild_and_it_loads_back(
    services: Services, guild: str, api: httpx.AsyncClient
) -> None:
    await fund(services, guild, member(1), 100)
    await send(services, guild, member(1), member(2), 30, "thanks")
    response = await api.get(f"/api/guilds/{guild}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="guildbank-{guild}-'
    )
    document = orjson.loads(response.content)
    assert (document["format"], document["version"], document["guild_id"]) == (
        "guildbank.guild-export",
        2,
        guild,
    )
    assert document["counts"]["ledger_transactions"] == len(
        document["tables"]["ledger_transactions"]
    )
    balances = {row["user_id"]: row["balance"] for row in document["tables"]["accounts"]}
    assert (balances[member(1)], balances[member(2)]) == (70, 130)  # 100 to start, 30 received
    # What the route sends is what `guildbank import` loads (here beside the guild itself).
    document["guild_id"] = document["tables"]["guilds"][0]["id"] = OTHER_GUILD
    report = await load_bytes(services, orjson.dumps(document))
    assert report.counts["ledger_transactions"] == document["counts"]["ledger_transactions"]


async def test_the_export_needs_the_admin_scope_and_a_known_guild(
    services: Services, app: FastAPI, guild: str, api: httpx.AsyncClient
) -> None:
    reader = await make_api_key(services, ("read", "write"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {reader}"},
    ) as client:
        error_of(await client.get(f"/api/guilds/{guild}/export"), 403, "forbidden")
    error_of(await api.get(f"/api/guilds/{OTHER_GUILD}/export"), 404, "guild_not_found")
