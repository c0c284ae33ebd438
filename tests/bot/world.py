"""The real bot (hikari GatewayBot + lightbulb) against a fake Discord and the real API.

Nothing of ours is mocked: the bot is built by ``create_bot`` and talks to the FastAPI app
through ``GuildbankClient.in_process`` (the embedded mode), the app runs on SQLite or
PostgreSQL (the ``backend`` parameter), and Discord is ``tests.fakes.discord.FakeDiscord``.
The only instrumentation is an httpx transport wrapper recording which API requests the
bot made, and a counter around the daily listener so a test knows when a burst was handled.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import hikari
import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from guildbank.features.economy.schemas import BalanceOut
from guildbank.platform.uow import Services
from guildbank.runtime.app import create_app
from guildbank.runtime.bot import GuildbankBot, create_bot
from guildbank.runtime.client import GuildbankClient
from tests.conftest import FakeClock, settings_for
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeInteraction, FakeMember, FakeUser
from tests.fakes.discord_bot import guilds_on_shards, start_until_available
from tests.fakes.discord_rest import RecordedCall

WAIT = 15.0  # generous: other test runs share this 2-core machine
EPHEMERAL = int(hikari.MessageFlag.EPHEMERAL)
MANAGE_GUILD = int(hikari.Permissions.MANAGE_GUILD)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    path: str
    status: int


class ApiRecorder(httpx.AsyncBaseTransport):
    """Wraps the in-process transport and records every request the bot made to the API."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[ApiRequest] = []
        self._changed = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.requests.append(ApiRequest(request.method, request.url.path, response.status_code))
        self._changed.set()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def matching(self, method: str, path_regex: str) -> list[ApiRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    async def wait_for(
        self,
        method: str,
        path_regex: str,
        count: int = 1,
        timeout: float = WAIT,  # noqa: ASYNC109 - a per-wait deadline is this helper's point
    ) -> list[ApiRequest]:
        try:
            async with asyncio.timeout(timeout):
                while len(found := self.matching(method, path_regex)) < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = "\n  ".join(f"{r.method} {r.path} {r.status}" for r in self.requests)
            msg = f"no {count}x {method} {path_regex} within {timeout}s; saw:\n  {seen}"
            raise TimeoutError(msg) from None
        return found


class HandledMessages:
    """Which messages the daily listener has finished handling (wraps its subscription)."""

    def __init__(self, gb: GuildbankBot) -> None:
        self.ids: list[int] = []
        self._changed = asyncio.Event()
        original = gb.daily.on_payload

        async def counted(event: hikari.ShardPayloadEvent) -> None:
            try:
                await original(event)
            finally:
                if event.name == "MESSAGE_CREATE":
                    self.ids.append(int(event.payload["id"]))
                    self._changed.set()

        gb.bot.unsubscribe(hikari.ShardPayloadEvent, original)
        gb.bot.subscribe(hikari.ShardPayloadEvent, counted)

    async def wait_for(self, *messages: dict[str, Any], times: int = 1) -> None:
        """Until each message (as ``send_message`` returned it) was handled ``times`` times."""
        wanted = [int(m["id"]) for m in messages]
        async with asyncio.timeout(WAIT):
            while any(self.ids.count(i) < times for i in wanted):
                self._changed.clear()
                await self._changed.wait()


@dataclass
class BotWorld:
    """One fake Discord guild with members, the API over one database, and running bots."""

    discord: FakeDiscord
    services: Services
    app: FastAPI
    key: str
    clock: FakeClock
    guild: FakeGuild
    alice: FakeMember
    bob: FakeMember
    carol: FakeMember
    admin: FakeMember
    robot: FakeMember
    outsider: FakeUser
    recorder: ApiRecorder
    api: GuildbankClient
    bots: list[GuildbankBot] = field(default_factory=list)
    handled: dict[int, HandledMessages] = field(default_factory=dict)

    @property
    def gid(self) -> str:
        return str(self.guild.id)

    def client(self, recorder: ApiRecorder | None = None) -> GuildbankClient:
        """A fresh in-process API client with the embedded bot's key (as ``run`` builds it)."""
        transport = recorder or ApiRecorder(httpx.ASGITransport(app=self.app))
        return GuildbankClient(
            httpx.AsyncClient(
                transport=transport,
                base_url="http://guildbank.internal",
                headers={"Authorization": f"Bearer {self.key}"},
            )
        )

    async def start_bot(
        self,
        *,
        api: GuildbankClient | None = None,
        shard_ids: list[int] | None = None,
        shard_count: int | None = None,
        sync_commands: bool = True,
        command_guilds: list[int] | None = None,
    ) -> GuildbankBot:
        """``create_bot`` + ``start`` and wait until this bot's guilds are available."""
        gb = await create_bot(
            self.discord.token,
            api or self.client(self.recorder),
            rest_url=self.discord.rest_url,
            command_guilds=command_guilds if command_guilds is not None else [self.guild.id],
            sync_commands=sync_commands,
        )
        gb.state.clock = self.clock
        self.bots.append(gb)
        self.handled[id(gb)] = HandledMessages(gb)

        async def start() -> None:
            await gb.start(shard_ids=shard_ids, shard_count=shard_count)

        guilds = guilds_on_shards(self.discord, shard_ids, shard_count)
        await start_until_available(gb.bot, start, guilds, timeout=WAIT)
        return gb

    async def stop_bot(self, gb: GuildbankBot) -> None:
        if gb in self.bots:
            self.bots.remove(gb)
            await gb.close()

    def messages_handled(self, gb: GuildbankBot) -> HandledMessages:
        return self.handled[id(gb)]

    async def command(
        self, user: FakeMember | FakeUser, name: str, options: dict[str, Any] | None = None
    ) -> tuple[FakeInteraction, RecordedCall]:
        """Run a slash command in the guild and return the bot's initial response."""
        interaction = await self.discord.slash_command(self.guild.id, user.id, name, options)
        return interaction, await self.discord.wait_for_response(interaction, timeout=WAIT)

    async def balance(self, member: FakeMember | FakeUser) -> BalanceOut:
        return await self.api.balance(self.gid, str(member.id))

    async def fund(self, member: FakeMember, amount: int) -> None:
        await self.api.adjust(
            self.gid,
            user_id=str(member.id),
            action="set",
            amount=amount,
            reason="test funding",
            actor_id=None,
            idempotency_key=secrets.token_hex(8),
        )

    async def configure(self, **changes: Any) -> None:
        """Change the guild's settings through the API; running bots re-read them."""
        await self.api.update_config(self.gid, changes)
        for gb in self.bots:
            gb.state.forget_config(self.gid)


def embed_of(call: RecordedCall) -> dict[str, Any]:
    """The single embed of an interaction response."""
    embeds: list[dict[str, Any]] = call.json["data"]["embeds"]
    assert len(embeds) == 1, call.json
    return embeds[0]


def content_of(call: RecordedCall) -> str:
    return str(call.json["data"].get("content") or "")


def is_ephemeral(call: RecordedCall) -> bool:
    return bool((call.json["data"].get("flags") or 0) & EPHEMERAL)


def field_values(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


@pytest.fixture(autouse=True)
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Our structlog events as dicts: assertable, and no slow pretty tracebacks in tests."""
    with capture_logs() as captured:
        yield captured


@pytest.fixture
async def world(services: Services, database_url: str, clock: FakeClock) -> AsyncIterator[BotWorld]:
    key = secrets.token_urlsafe(24)
    app = create_app(settings_for(database_url), services, internal_key=key)
    async with FakeDiscord() as discord:
        guild = discord.add_guild(name="Byte Club")
        alice = discord.add_member(guild.id, username="alice")
        bob = discord.add_member(guild.id, username="bob")
        carol = discord.add_member(guild.id, username="carol")
        admin = discord.add_member(guild.id, username="admin", permissions=MANAGE_GUILD)
        robot = discord.add_member(guild.id, username="robot", bot=True)
        outsider = discord.add_user(username="outsider")
        recorder = ApiRecorder(httpx.ASGITransport(app=app))
        world = BotWorld(
            discord=discord,
            services=services,
            app=app,
            key=key,
            clock=clock,
            guild=guild,
            alice=alice,
            bob=bob,
            carol=carol,
            admin=admin,
            robot=robot,
            outsider=outsider,
            recorder=recorder,
            api=GuildbankClient.in_process(app, key),
        )
        await world.api.register_guild(world.gid, guild.name)
        await world.api.update_config(world.gid, {"rate_limit_per_minute": 0})
        try:
            yield world
        finally:
            for gb in list(world.bots):
                await world.stop_bot(gb)
            await world.api.aclose()
            await services.relay.close()  # the event relay is the services' own task
    await asyncio.sleep(0)  # let cancelled tasks finish
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if pending:
        # A statement the API shields from its caller's cancellation (outbox/api.py) may
        # still be finishing, or waiting its SQLite writer turn (at most the busy timeout,
        # 30 s): it gets that long, but it must end.
        await asyncio.wait(pending, timeout=35)
    leaked = [t for t in pending if not t.done()]
    assert not leaked, f"tasks outlived the test: {leaked}"


@pytest.fixture
async def running(world: BotWorld) -> GuildbankBot:
    """One bot running against ``world`` (commands synced to its guild)."""
    return await world.start_bot()
