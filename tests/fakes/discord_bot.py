"""Start the real hikari GatewayBot (and lightbulb client) against the fake, and stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import hikari

if TYPE_CHECKING:
    import lightbulb

    from tests.fakes.discord_entities import FakeGuild, FakeUser


class _Fake(Protocol):
    token: str
    bot_user: FakeUser
    guilds: dict[int, FakeGuild]

    @property
    def rest_url(self) -> str: ...


__all__ = ["guilds_on_shards", "make_bot", "running_bot", "start_until_available"]


def make_bot(
    discord: _Fake, *, intents: hikari.Intents = hikari.Intents.ALL_UNPRIVILEGED, **kwargs: Any
) -> hikari.GatewayBot:
    """A GatewayBot pointed at the fake, without banner or logging setup."""
    kwargs.setdefault("banner", None)
    kwargs.setdefault("logs", None)
    return hikari.GatewayBot(discord.token, intents=intents, rest_url=discord.rest_url, **kwargs)


def guilds_on_shards(
    discord: _Fake, shard_ids: Sequence[int] | None = None, shard_count: int | None = None
) -> set[int]:
    """The guilds with the bot in them that the given shards serve (all shards when None)."""
    count = shard_count or 1
    ids = list(shard_ids) if shard_ids is not None else list(range(count))
    return {
        guild.id
        for guild in discord.guilds.values()
        if discord.bot_user.id in guild.members and (guild.id >> 22) % count in ids
    }


async def start_until_available(
    bot: hikari.GatewayBot,
    start: Callable[[], Awaitable[None]],
    guild_ids: Collection[int],
    *,
    timeout: float,  # noqa: ASYNC109 - bounds the wait for the guilds, not the start
) -> None:
    """``start()`` the bot, then wait until each of ``guild_ids`` is available (cached)."""
    expected = set(guild_ids)
    available: set[int] = set()
    all_available = asyncio.Event()

    async def on_available(event: hikari.GuildAvailableEvent) -> None:
        available.add(event.guild_id)
        if expected <= available:
            all_available.set()

    bot.subscribe(hikari.GuildAvailableEvent, on_available)
    try:
        await start()
        if expected:
            async with asyncio.timeout(timeout):
                await all_available.wait()
    finally:
        bot.unsubscribe(hikari.GuildAvailableEvent, on_available)


@contextlib.asynccontextmanager
async def running_bot(
    bot: hikari.GatewayBot,
    discord: _Fake,
    *,
    client: lightbulb.Client | None = None,
    shard_ids: Sequence[int] | None = None,
    shard_count: int | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - bounds startup, not the body of the block
) -> AsyncIterator[hikari.GatewayBot]:
    """Start `bot`, wait until its shards' guilds are cached, start `client` (syncs commands).

    On exit the client and bot are stopped, so no session or task outlives the test.
    """
    expected = guilds_on_shards(discord, shard_ids, shard_count)
    if not bot.intents & hikari.Intents.GUILDS:
        expected = set()

    async def start() -> None:
        await bot.start(check_for_updates=False, shard_ids=shard_ids, shard_count=shard_count)

    try:
        await start_until_available(bot, start, expected, timeout=timeout)
        if client is not None:
            async with asyncio.timeout(timeout):
                await client.start()
        yield bot
    finally:
        if client is not None:
            await client.stop()
        if bot.is_alive:
            await bot.close()
