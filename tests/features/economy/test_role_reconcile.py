"""The periodic role-reward reconcile (SPEC §4.5): missed roles are granted without a restart."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest

from guildbank.runtime.bot import GuildbankBot
from guildbank.runtime.runner import _start_bot
from tests.bot.world import WAIT, BotWorld
from tests.conftest import settings_for

HOLDERS = r"/api/guilds/\d+/bytes/role-rewards/holders"
MINUTES = 0.005  # 0.3 s between reconciles


async def _bot_with_reconcile(world: BotWorld, database_url: str, minutes: float) -> GuildbankBot:
    """A bot built from settings, as ``guildbank run`` and ``guildbank bot`` build it."""
    settings = settings_for(
        database_url,
        discord_token=world.discord.token,
        discord_api_url=world.discord.rest_url,
        discord_command_guilds=[world.guild.id],
        role_reconcile_minutes=minutes,
    )
    gb = await _start_bot(settings, world.client(world.recorder), None, None)
    gb.state.clock = world.clock
    world.bots.append(gb)
    await world.recorder.wait_for("PUT", rf"/api/guilds/{world.guild.id}")  # guild available
    return gb


async def _transfer(world: BotWorld, receiver: Any, amount: int, key: str) -> None:
    """Money moved through the API alone: its reward roles reach Discord through the outbox."""
    await world.api.transfer(
        world.gid,
        giver_id=str(world.alice.id),
        receiver_id=str(receiver.id),
        amount=amount,
        reason=None,
        idempotency_key=key,
    )


@pytest.mark.parametrize("backend", ["sqlite"])  # about the bot's timer, not the database
async def test_periodic_reconcile_grants_roles_earned_while_the_bot_runs(
    world: BotWorld, database_url: str
) -> None:
    rich = world.discord.add_role(world.guild.id, "Rich")
    await world.configure(role_rewards={str(rich.id): 50})
    await world.fund(world.alice, 500)
    gb = await _bot_with_reconcile(world, database_url, MINUTES)
    await world.recorder.wait_for("GET", HOLDERS)  # the reconcile on guild available: nothing
    role_puts = rf"/guilds/{world.guild.id}/members/\d+/roles/{rich.id}"
    assert not world.discord.calls("PUT", f"/guilds/{world.guild.id}/members/")

    # While the bot runs, bob crosses the threshold and carol does not.
    await _transfer(world, world.bob, 60, "bob-crosses")
    await _transfer(world, world.carol, 40, "carol-short")
    granted = await world.discord.wait_for_call("PUT", role_puts, timeout=WAIT)
    assert granted.path.split("/")[4] == str(world.bob.id)
    assert world.discord.guilds[world.guild.id].members[world.bob.id].roles == [rich.id]

    # Later rounds read the granted role from the member cache and grant nothing again.
    seen = len(world.recorder.matching("GET", HOLDERS))
    await world.recorder.wait_for("GET", HOLDERS, count=seen + 2)
    assert len(world.discord.calls("PUT", f"/guilds/{world.guild.id}/members/")) == 1
    assert world.discord.guilds[world.guild.id].members[world.carol.id].roles == []
    assert len(world.discord.gateway.sessions) == 1  # no restart, no reconnect
    assert gb.bot.is_alive


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_refused_grant_fails_its_job_and_a_later_round_grants_the_role(
    world: BotWorld, database_url: str, logs: list[MutableMapping[str, Any]]
) -> None:
    rich = world.discord.add_role(world.guild.id, "Rich")
    await world.configure(role_rewards={str(rich.id): 50})
    await world.fund(world.alice, 500)
    await _bot_with_reconcile(world, database_url, MINUTES)
    await world.recorder.wait_for("GET", HOLDERS)

    # Discord refuses the transfer's role grant for good (400): its outbox job fails...
    world.discord.fail(
        "PUT", rf"/guilds/\d+/members/\d+/roles/{rich.id}", status=400, code=50035, message="no"
    )
    await _transfer(world, world.bob, 60, "bob-crosses")
    role_puts = rf"/guilds/{world.guild.id}/members/{world.bob.id}/roles/{rich.id}"
    # ...and a later reconcile round, seeing bob without the role, asks for it again.
    calls = await world.discord.wait_for_calls("PUT", role_puts, 2, timeout=WAIT)
    assert [c.status for c in calls] == [400, 204]
    assert world.discord.guilds[world.guild.id].members[world.bob.id].roles == [rich.id]
    failed = [e for e in logs if e["event"] == "outbox job failed"]
    assert failed
    assert failed[0]["permanent"]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == []


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_zero_minutes_turns_the_periodic_reconcile_off(
    world: BotWorld, database_url: str
) -> None:
    rich = world.discord.add_role(world.guild.id, "Rich")
    await world.configure(role_rewards={str(rich.id): 50})
    off = await _bot_with_reconcile(world, database_url, 0)
    await world.recorder.wait_for("GET", HOLDERS)
    assert off.role_reconcile_minutes == 0
    assert off._reconciling is None
