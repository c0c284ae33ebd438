"""What survives: restarts, redelivered events, two processes, shards, an API or token gone bad."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import hikari
import lightbulb
import pytest
import structlog
from typer.testing import CliRunner

from guildbank.bot.errors import TRY_AGAIN
from guildbank.cli import app as cli
from guildbank.core.limits import MAX_AMOUNT
from guildbank.runtime.bot import BotConfigError, GuildbankBot, check_token, create_bot
from guildbank.runtime.client import GuildbankClient
from guildbank.runtime.runner import _start_bot
from tests.bot.world import WAIT, BotWorld, content_of, embed_of, field_values, is_ephemeral
from tests.conftest import settings_for
from tests.fakes.discord import FakeDiscord, FakeGuild
from tests.fakes.ports import free_port

TRANSFERS = r"/api/guilds/\d+/bytes/transactions"
DAILY = r"/api/guilds/\d+/bytes/daily/\d+"


def _commands_path(discord: FakeDiscord, guild: FakeGuild | None = None) -> str:
    scope = f"/guilds/{guild.id}" if guild is not None else ""
    return f"/applications/{discord.application_id}{scope}/commands"


# -- command sync -------------------------------------------------------------------------------

USER, STRING, INTEGER, SUB = 6, 3, 4, 1


def _opt(kind: int, name: str, *, required: bool = True, **limits: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "required": required, **limits}


def _send_options() -> list[dict[str, Any]]:
    return [
        _opt(USER, "user"),
        _opt(INTEGER, "amount", min_value=1),
        _opt(STRING, "reason", required=False, max_length=200),
    ]


def _admin_options(minimum: int) -> list[dict[str, Any]]:
    return [
        _opt(USER, "user"),
        _opt(INTEGER, "amount", min_value=minimum, max_value=MAX_AMOUNT),
        _opt(STRING, "reason", min_length=1, max_length=200),
    ]


DECLARED: dict[str, dict[str, Any]] = {
    "bytes": {
        "type": 1,
        "options": {
            "balance": [],
            "check": [_opt(USER, "user", required=False)],
            "send": _send_options(),
            "leaderboard": [_opt(INTEGER, "limit", required=False, min_value=5, max_value=25)],
            "history": [_opt(INTEGER, "limit", required=False, min_value=1, max_value=20)],
            "info": [],
        },
    },
    "give": {"type": 1, "options": _send_options()},
    "daily": {"type": 1, "options": []},
    "economy": {
        "type": 1,
        "permissions": str(int(hikari.Permissions.MANAGE_GUILD)),
        "options": {
            "add": _admin_options(1),
            "remove": _admin_options(1),
            "set": _admin_options(0),
        },
    },
    "Send bytes": {"type": 2, "options": []},
}
LIMITS = ("min_value", "max_value", "min_length", "max_length")


def _shape(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": o["type"],
            "name": o["name"],
            "required": bool(o.get("required", False)),
            **{k: o[k] for k in LIMITS if o.get(k) is not None},
        }
        for o in options
    ]


def _described(command: dict[str, Any]) -> dict[str, Any]:
    """A synced command reduced to what DECLARED states."""
    options = command.get("options") or []
    described: dict[str, Any] = {"type": command["type"]}
    if options and all(o["type"] == SUB for o in options):
        described["options"] = {o["name"]: _shape(o.get("options") or []) for o in options}
    else:
        described["options"] = _shape(options)
    if command.get("default_member_permissions") is not None:
        described["permissions"] = str(command["default_member_permissions"])
    return described


@pytest.mark.parametrize("backend", ["sqlite"])  # about Discord, not the database
async def test_command_sync_pushes_exactly_the_declared_commands(
    world: BotWorld, running: GuildbankBot
) -> None:
    synced = world.discord.calls("PUT", _commands_path(world.discord, world.guild))
    assert len(synced) == 1
    payload = synced[0].json
    # Every command lightbulb knows is pushed (other features add theirs)...
    assert sorted(c["name"] for c in payload) == sorted(
        c.name if isinstance(c, lightbulb.Group) else c._command_data.name
        for c in running.client.registered_commands
    )
    # ...and the economy's are exactly as declared.
    assert {c["name"]: _described(c) for c in payload if c["name"] in DECLARED} == DECLARED
    for command in payload:
        assert command.get("contexts") == [0], command["name"]  # guild only, no DMs
        if command["type"] == 1:
            assert 1 <= len(command["description"]) <= 100
    assert not world.discord.calls("PUT", _commands_path(world.discord))  # no global ones

    # What Discord's client enforces from these declarations, the fake enforces too.
    with pytest.raises(ValueError, match="min_value"):
        await world.discord.slash_command(
            world.guild.id, world.alice.id, "bytes send", {"user": world.bob.id, "amount": 0}
        )
    with pytest.raises(ValueError, match="max_value"):
        await world.discord.slash_command(
            world.guild.id, world.alice.id, "bytes leaderboard", {"limit": 26}
        )


# -- restart ------------------------------------------------------------------------------------


async def test_a_restart_loses_nothing_and_does_not_push_commands_again(world: BotWorld) -> None:
    # Global commands, as in production. (Guild-scoped commands, a development convenience,
    # are pushed on every start: lightbulb 3.2.6 compares `contexts` only for global ones.)
    first = await world.start_bot(command_guilds=[])
    handled = world.messages_handled(first)
    await handled.wait_for(
        await world.discord.send_message(world.guild.id, None, world.alice.id, "hi")
    )
    _, sent = await world.command(world.alice, "bytes send", {"user": world.bob.id, "amount": 30})
    assert (
        "guild_id" not in world.discord.interactions[int(sent.path.split("/")[2])].payload["data"]
    )
    await world.stop_bot(first)
    assert not first.bot.is_alive

    second = await world.start_bot(command_guilds=[])
    _, balance = await world.command(world.alice, "bytes balance")
    assert embed_of(balance)["description"] == "💰 **80** bytes"
    assert field_values(embed_of(balance))["Daily reward"] == "claimed today"

    # The new process has an empty memo: the API refuses the second daily, silently.
    handled = world.messages_handled(second)
    again = await world.discord.send_message(world.guild.id, None, world.alice.id, "back")
    await handled.wait_for(again)
    assert second.daily.api_calls == 1
    assert world.recorder.matching("POST", DAILY)[-1].status == 409
    assert len(await world.api.transactions(world.gid, type="daily")) == 1

    path = _commands_path(world.discord)
    assert len(world.discord.calls("GET", path)) == 2  # both processes compared...
    assert len(world.discord.calls("PUT", path)) == 1  # ...only the first had to push
    assert not world.discord.calls("PUT", _commands_path(world.discord, world.guild))
    assert [s.ended for s in world.discord.gateway.sessions.values()] == [True, False]


# -- redelivery and two processes ---------------------------------------------------------------


async def test_an_interaction_delivered_twice_moves_money_once(
    world: BotWorld, running: GuildbankBot, logs: list[MutableMapping[str, Any]]
) -> None:
    discord = world.discord
    send = await discord.slash_command(
        world.guild.id, world.alice.id, "bytes send", {"user": world.bob.id, "amount": 20}, repeat=2
    )
    daily = await discord.slash_command(world.guild.id, world.carol.id, "daily", repeat=2)
    adjust = await discord.slash_command(
        world.guild.id,
        world.admin.id,
        "economy add",
        {"user": world.carol.id, "amount": 5, "reason": "bonus"},
        repeat=2,
    )
    for interaction in (send, daily, adjust):
        answers = await discord.wait_for_calls(
            "POST", rf"/interactions/{interaction.id}/[^/]+/callback", 2, timeout=WAIT
        )
        # Both copies ran; Discord accepts one answer per interaction.
        assert sorted(a.status for a in answers) == [200, 400]
    await world.recorder.wait_for("POST", TRANSFERS, count=2)
    await world.recorder.wait_for("POST", DAILY, count=2)
    await world.recorder.wait_for("POST", r"/api/guilds/\d+/bytes/adjust", count=2)

    assert len(await world.api.transactions(world.gid, type="transfer")) == 1
    assert len(await world.api.transactions(world.gid, type="daily")) == 1
    assert len(await world.api.transactions(world.gid, type="admin_adjust")) == 1
    assert (await world.balance(world.bob)).balance == 120
    assert (await world.balance(world.carol)).balance == 115
    # The copy that lost the race is not an error an operator must look at.
    answered = sorted(e["command"] for e in logs if e["event"] == "interaction already answered")
    assert answered == ["bytes send", "daily", "economy add"]
    assert not [e for e in logs if e["log_level"] == "error"]


async def test_interaction_replayed_on_resume_moves_money_once(
    world: BotWorld, running: GuildbankBot
) -> None:
    world.discord.echo_bot_messages = False  # so the interaction is the last event delivered
    _, sent = await world.command(world.alice, "give", {"user": world.bob.id, "amount": 25})
    assert embed_of(sent)["title"] == "Sent!"
    await world.discord.drop_connection(0, replay_duplicates=1)
    await world.recorder.wait_for("POST", TRANSFERS, count=2, timeout=WAIT)

    assert len(await world.api.transactions(world.gid, type="transfer")) == 1
    assert (await world.balance(world.bob)).balance == 125


async def test_two_bot_processes_racing_for_one_member_pay_once(
    world: BotWorld, logs: list[MutableMapping[str, Any]]
) -> None:
    # A guild on shard 1 of 2 reaches both an old one-shard process and a new two-shard one,
    # as during a resharding rolling deploy: every event arrives twice, at two processes.
    discord = world.discord
    shared = discord.add_guild(discord.snowflake_on_shard(1, 2), name="Shared")
    alice = discord.add_member(shared.id, username="alice2")
    bob = discord.add_member(shared.id, username="bob2")
    await world.api.register_guild(str(shared.id), shared.name)
    await world.api.update_config(str(shared.id), {"rate_limit_per_minute": 0})

    old = await world.start_bot(command_guilds=[shared.id], shard_ids=[0], shard_count=1)
    new = await world.start_bot(
        command_guilds=[shared.id], shard_ids=[1], shard_count=2, sync_commands=False
    )
    burst = [await discord.send_message(shared.id, None, alice.id, f"hello {n}") for n in range(10)]
    await world.messages_handled(old).wait_for(*burst)
    await world.messages_handled(new).wait_for(*burst)
    daily = await discord.slash_command(shared.id, alice.id, "daily")
    send = await discord.slash_command(
        shared.id, alice.id, "bytes send", {"user": bob.id, "amount": 10}
    )
    for interaction in (daily, send):
        answers = await discord.wait_for_calls(
            "POST", rf"/interactions/{interaction.id}/[^/]+/callback", 2, timeout=WAIT
        )
        assert sorted(a.status for a in answers) == [200, 400]

    assert old.daily.api_calls >= 1
    assert new.daily.api_calls >= 1
    gid = str(shared.id)
    assert len(await world.api.transactions(gid, type="daily")) == 1
    assert len(await world.api.transactions(gid, type="transfer")) == 1
    assert (await world.api.balance(gid, str(alice.id))).balance == 100
    assert (await world.api.balance(gid, str(bob.id))).balance == 110
    assert not [e for e in logs if e["log_level"] == "error"]


# -- shards -------------------------------------------------------------------------------------


async def test_sharded_processes_each_serve_their_guilds_and_only_shard_zero_syncs(
    world: BotWorld, database_url: str
) -> None:
    discord = world.discord
    zero = discord.add_guild(discord.snowflake_on_shard(0, 2), name="Zero")
    one = discord.add_guild(discord.snowflake_on_shard(1, 2), name="One")
    members = {g.id: discord.add_member(g.id, username=f"member-{g.name}") for g in (zero, one)}
    settings = settings_for(
        database_url,
        discord_token=discord.token,
        discord_api_url=discord.rest_url,
        discord_command_guilds=[zero.id, one.id],
    )
    processes = []
    for shard in (0, 1):
        gb = await _start_bot(settings, world.client(world.recorder), [shard], 2)
        gb.state.clock = world.clock
        processes.append(gb)
        world.bots.append(gb)
    await discord.wait_for_shards(2, timeout=WAIT)
    for guild in (zero, one):
        await world.recorder.wait_for("PUT", rf"/api/guilds/{guild.id}")  # guild available
        await world.api.update_config(str(guild.id), {"confirm_threshold": 10_000})

    assert sorted(tuple(p["shard"]) for p in discord.identify_payloads()) == [(0, 2), (1, 2)]
    for guild in (zero, one):
        assert len(discord.calls("GET", _commands_path(discord, guild))) == 1
        assert len(discord.calls("PUT", _commands_path(discord, guild))) == 1

    for shard, guild in enumerate((zero, one)):
        member = members[guild.id]
        gb = processes[shard]
        assert gb.bot.cache.get_guild(guild.id) is not None
        assert gb.bot.cache.get_guild((one if shard == 0 else zero).id) is None
        interaction = await discord.slash_command(guild.id, member.id, "bytes balance")
        answer = await discord.wait_for_response(interaction, timeout=WAIT)
        assert embed_of(answer)["description"] == "💰 **100** bytes"
        said = await discord.send_message(guild.id, None, member.id, "hi")
        await discord.wait_for_call(
            "PUT", rf"/channels/\d+/messages/{said['id']}/reactions/.+", timeout=WAIT
        )
    await world.recorder.wait_for("POST", DAILY, count=2)
    assert [p.daily.api_calls for p in processes] == [1, 1]
    for guild in (zero, one):
        paid = await world.api.balance(str(guild.id), str(members[guild.id].id))
        assert paid.balance == 110


# -- the API unreachable ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])  # the database is out of reach anyway
async def test_api_unreachable_gets_a_friendly_answer_and_a_logged_error(
    world: BotWorld, logs: list[MutableMapping[str, Any]]
) -> None:
    down = GuildbankClient.over_http(f"http://127.0.0.1:{free_port()}", world.key)
    gb = await world.start_bot(api=down)
    handled = world.messages_handled(gb)
    answers = []
    commands: list[tuple[str, dict[str, Any]]] = [
        ("bytes balance", {}),  # a read: retried, then refused
        ("daily", {}),  # an idempotent write: retried, then refused
        ("bytes send", {"user": world.bob.id, "amount": 5}),
        ("economy add", {"user": world.bob.id, "amount": 5, "reason": "x"}),
    ]
    for name, options in commands:
        user = world.admin if name.startswith("economy") else world.alice
        answers.append((name, (await world.command(user, name, options))[1]))
    message = await world.discord.send_message(world.guild.id, None, world.alice.id, "hi")
    await handled.wait_for(message)

    for name, answer in answers:
        assert (content_of(answer), is_ephemeral(answer)) == (TRY_AGAIN, True), name
    assert gb.bot.is_alive
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e.get("command") for e in errors if e["event"] == "command failed"] == [
        "bytes balance",
        "daily",
        "bytes send",
        "economy add",
    ]
    assert all("unreachable" in e["error"] for e in errors if e["event"] == "command failed")
    assert any(e["event"] == "could not register guild" for e in errors)
    warnings = [e["event"] for e in logs if e["log_level"] == "warning"]
    assert "daily listener could not read the guild settings" in warnings


# -- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("", "is not set"),
        ("not-a-token", "malformed"),
        ("aGVsbG8.abc.def", "malformed"),  # base64 of "hello", not an application id
        ("MTIz.abc", "malformed"),
    ],
)
def test_check_token_refuses_missing_and_malformed_tokens(token: str, problem: str) -> None:
    with pytest.raises(BotConfigError, match=problem):
        check_token(token)
    check_token("MTIzNDU2Nzg5.abc.def")  # base64("123456789"): shaped like a bot token


@pytest.mark.parametrize(
    ("command", "token", "problem"),
    [
        ("bot", "", "GUILDBANK_DISCORD_TOKEN is not set"),
        ("bot", "garbage", "GUILDBANK_DISCORD_TOKEN is malformed"),
        ("run", "not-a-token", "GUILDBANK_DISCORD_TOKEN is malformed"),
    ],
)
def test_bot_and_run_exit_2_with_a_clear_message_on_a_bad_token(
    command: str, token: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    env = {
        "GUILDBANK_DISCORD_TOKEN": token,
        "GUILDBANK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
    }
    saved = structlog.get_config()  # the command configures logging for the process
    try:
        result = CliRunner().invoke(cli, [command], env=env)
    finally:
        structlog.configure(**saved)
    assert result.exit_code == 2, result.output
    assert "Bot configuration error" in result.output
    assert problem in " ".join(result.output.split())  # the console wraps long lines
    assert not (tmp_path / "never.db").exists()  # refused before touching anything


async def test_a_token_discord_rejects_fails_fast() -> None:
    async with FakeDiscord() as discord:
        discord.add_guild()
        head = discord.token.split(".", 1)[0]
        wrong = f"{head}.AAAAAA.{'x' * 27}"  # right application, wrong secret: Discord says 401
        api = GuildbankClient.over_http(f"http://127.0.0.1:{free_port()}", "unused")
        gb = await create_bot(wrong, api, rest_url=discord.rest_url)
        with pytest.raises(BotConfigError, match="401 Unauthorized"):
            async with asyncio.timeout(WAIT):
                await gb.start()
        assert not gb.bot.is_alive  # closed on the way out
        assert discord.calls("GET", "/gateway/bot")[-1].status == 401
        assert not discord.gateway.sessions  # never got as far as the gateway


async def test_guildbank_bot_cli_exits_2_when_discord_rejects_the_token(tmp_path: Path) -> None:
    async with FakeDiscord() as discord:
        discord.add_guild()
        head = discord.token.split(".", 1)[0]
        env = {
            **os.environ,
            "GUILDBANK_DISCORD_TOKEN": f"{head}.AAAAAA.{'x' * 27}",
            "GUILDBANK_DISCORD_API_URL": discord.rest_url,
            "GUILDBANK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from guildbank.cli import app; app()",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(60):
            output, _ = await process.communicate()
        text = " ".join(output.decode().split())  # the console wraps long lines
        assert process.returncode == 2, text
        assert "Discord refused GUILDBANK_DISCORD_TOKEN (401 Unauthorized): check the token" in text
        assert "Unclosed" not in text  # the half-started bot released its HTTP sessions
        assert discord.calls("GET", "/gateway/bot")[-1].status == 401
