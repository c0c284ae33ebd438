"""``guildbank create-api-key --guild``: the operator makes a key for one server's integrator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from guildbank.features.guilds.service import register_guild
from guildbank.platform.uow import unit_of_work
from guildbank.runtime.app import create_app
from guildbank.runtime.demo import DEMO_GUILD_ID
from guildbank.runtime.services import build_services
from tests.conftest import OTHER_GUILD_ID, settings_for
from tests.test_cli import database, new_key, ok, run, url_of

__all__ = ["database"]  # the fixture, shared with tests/test_cli.py


async def _statuses(path: Path, token: str) -> tuple[int, int]:
    """(GET settings of the demo guild, GET settings of another registered guild)."""
    settings = settings_for(url_of(path))
    services = build_services(settings)
    async with unit_of_work(services) as uow:
        await register_guild(uow, guild_id=OTHER_GUILD_ID, name="Other")
        await uow.commit()
    app = create_app(settings, services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            mine = await client.get(f"/api/guilds/{DEMO_GUILD_ID}/settings")
            theirs = await client.get(f"/api/guilds/{OTHER_GUILD_ID}/settings")
    finally:
        await services.close()
    return mine.status_code, theirs.status_code


def test_a_key_limited_to_one_guild(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(run(database, "demo"))
    scoped = new_key(database, "--name", "tool", "--scope", "read", "--guild", DEMO_GUILD_ID)
    assert asyncio.run(_statuses(database, scoped)) == (200, 403)
    everywhere = new_key(database, "--name", "operator")
    assert asyncio.run(_statuses(database, everywhere)) == (200, 200)
    # The CLI's console reads its width once, when this process first imported it.
    monkeypatch.setattr("guildbank.cli.console", Console(width=250))
    listing = ok(run(database, "list-api-keys"))
    assert DEMO_GUILD_ID in listing
    assert "all" in listing
    unknown = run(database, "create-api-key", "--name", "x", "--guild", "333333333333333333")
    assert unknown.exit_code == 1
    assert "not registered" in unknown.output
