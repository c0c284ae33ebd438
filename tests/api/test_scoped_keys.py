"""Guild-scoped API keys: a key limited to guild A works on A's routes (within its scopes) and
is refused with 403 ``forbidden_guild`` everywhere else: B's routes, the lean transfer route,
routes spanning every guild. Operator keys stay global."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from guildbank.core.errors import InvalidInput, NotFound
from guildbank.features.guilds.service import register_guild
from guildbank.platform import apikeys
from guildbank.platform.uow import Services, unit_of_work
from tests.conftest import OTHER_GUILD_ID
from tests.factories import bytes_url, db_snapshot, error_of, fund, member


async def scoped_key(
    services: Services, guilds: list[str], scopes: tuple[str, ...] = ("read", "write", "admin")
) -> str:
    async with unit_of_work(services) as uow:
        _, token = await apikeys.create_api_key(
            uow, name="tool", scopes=scopes, guild_ids=guilds, created_by=member(9)
        )
        await uow.commit()
    return token


@pytest.fixture
async def other(services: Services) -> str:
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other")
        await uow.commit()
    return OTHER_GUILD_ID


@pytest.fixture
async def tool(app: FastAPI, services: Services, guild: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a full-scope key limited to ``guild``."""
    token = await scoped_key(services, [guild])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def test_a_scoped_key_works_on_its_guild(
    tool: httpx.AsyncClient, guild: str, services: Services
) -> None:
    await fund(services, guild, member(1), 50)
    assert (await tool.get(bytes_url(guild, f"/balance/{member(1)}"))).json()["balance"] == 50
    transfer = {"giver_id": member(1), "receiver_id": member(2), "amount": 5}
    assert (await tool.post(bytes_url(guild, "/transactions"), json=transfer)).status_code == 200
    assert (await tool.put(f"/api/guilds/{guild}/settings", json={"daily_amount": 3})).is_success
    assert (await tool.get(f"/api/guilds/{guild}/metadata")).status_code == 200


async def test_a_scoped_key_is_refused_on_every_other_guild(
    tool: httpx.AsyncClient, api: httpx.AsyncClient, other: str, services: Services
) -> None:
    await fund(services, other, member(1), 50)
    before = await db_snapshot(services)
    transfer = {"giver_id": member(1), "receiver_id": member(2), "amount": 5}
    for response in (
        await tool.get(bytes_url(other, f"/balance/{member(1)}")),
        await tool.post(bytes_url(other, "/transactions"), json=transfer),  # the lean route
        await tool.post(bytes_url(other, f"/daily/{member(1)}")),
        await tool.put(f"/api/guilds/{other}/settings", json={"daily_amount": 1}),
        await tool.get(f"/api/guilds/{other}/squads"),
        await tool.put(f"/api/guilds/{other}", json={"name": "mine now"}),
        await tool.put(f"/api/guilds/{other}/metadata", json={}),
        await tool.get("/api/guilds/333333333333333333/settings"),  # unknown: 403, not 404
    ):
        error_of(response, 403, "forbidden_guild")
    assert await db_snapshot(services) == before
    # Routes spanning every guild refuse it too; the operator's global key reads them.
    error_of(await tool.get("/metrics"), 403, "forbidden_guild")
    assert (await api.get("/metrics")).status_code == 200
    assert (await api.get(bytes_url(other, f"/balance/{member(1)}"))).status_code == 200


async def test_scopes_still_apply_within_the_guild(
    app: FastAPI, services: Services, guild: str, other: str
) -> None:
    token = await scoped_key(services, [guild, other], scopes=("read",))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as reader:
        for gid in (guild, other):
            assert (await reader.get(bytes_url(gid, "/leaderboard"))).status_code == 200
            error_of(await reader.post(bytes_url(gid, f"/daily/{member(1)}")), 403, "forbidden")


async def test_keys_name_registered_guilds_and_list_by_guild(
    services: Services, guild: str, other: str
) -> None:
    await scoped_key(services, [guild])
    await scoped_key(services, [guild, other])
    async with unit_of_work(services) as uow:
        with pytest.raises(NotFound):
            await apikeys.create_api_key(uow, name="x", guild_ids=["333333333333333333"])
        for bad in ([], ["abc"]):
            with pytest.raises(InvalidInput):
                await apikeys.create_api_key(uow, name="x", guild_ids=bad)
        await apikeys.create_api_key(uow, name="operator")
        await uow.commit()
    async with unit_of_work(services) as uow:
        mine = await apikeys.list_api_keys(uow, guild_id=guild)
        theirs = await apikeys.list_api_keys(uow, guild_id=other)
        everything = await apikeys.list_api_keys(uow)
    assert [k.guild_ids for k in mine] == [[guild], sorted([guild, other])]
    assert [k.guild_ids for k in theirs] == [sorted([guild, other])]
    assert [k.guild_ids for k in everything][-1] is None
    assert mine[0].created_by == member(9)


async def test_a_server_admin_revokes_only_keys_of_their_server_alone(
    app: FastAPI, services: Services, guild: str, other: str
) -> None:
    token = await scoped_key(services, [guild])
    await scoped_key(services, [guild, other])
    async with unit_of_work(services) as uow:
        single, shared = await apikeys.list_api_keys(uow, guild_id=guild)
        with pytest.raises(InvalidInput):
            await apikeys.revoke_guild_key(uow, guild_id=guild, key_id=shared.id)
        with pytest.raises(NotFound):
            await apikeys.revoke_guild_key(uow, guild_id=other, key_id=single.id)
        await apikeys.revoke_guild_key(uow, guild_id=guild, key_id=single.id)
        await uow.commit()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as revoked:
        error_of(await revoked.get(bytes_url(guild, "/leaderboard")), 401)
