"""Running processes: the web server, the bot, or both in one event loop (embedded mode)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import uvicorn
from fastapi import FastAPI

from guildbank.runtime.app import create_app
from guildbank.runtime.bot import GuildbankBot, create_bot
from guildbank.runtime.client import GuildbankClient
from guildbank.settings import Settings

__all__ = ["run_bot", "serve"]


def _client(settings: Settings, app: FastAPI | None, internal_key: str | None) -> GuildbankClient:
    if settings.api_url:
        return GuildbankClient.over_http(settings.api_url, settings.api_key.get_secret_value())
    assert app is not None
    assert internal_key is not None
    return GuildbankClient.in_process(app, internal_key)


async def _start_bot(
    settings: Settings, api: GuildbankClient, shard_ids: list[int] | None, shard_count: int | None
) -> GuildbankBot:
    bot = await create_bot(
        settings.discord_token.get_secret_value(),
        api,
        rest_url=settings.discord_api_url,
        command_guilds=settings.discord_command_guilds,
        sync_commands=shard_ids is None or 0 in shard_ids,
        role_reconcile_minutes=settings.role_reconcile_minutes,
    )
    await bot.start(shard_ids=shard_ids, shard_count=shard_count)
    return bot


async def serve(settings: Settings, *, with_bot: bool) -> None:
    """Serve the web app; with a token, run the bot beside it in the same process."""
    internal_key = secrets.token_urlsafe(32) if with_bot else None
    app = create_app(settings, internal_key=internal_key)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    bot: GuildbankBot | None = None
    try:
        if not with_bot:
            await asyncio.shield(serving)  # a cancel stops the server gracefully (finally)
            return
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has a flag only
            await asyncio.sleep(0.05)
        if serving.done():
            return
        bot = await _start_bot(settings, _client(settings, app, internal_key), None, None)
        app.state.bot_running = True
        joined = asyncio.create_task(bot.bot.join())
        try:
            await asyncio.wait({serving, joined}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            joined.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await joined
    finally:
        app.state.bot_running = False
        if bot is not None:
            await bot.close()
        server.should_exit = True
        await serving


async def run_bot(
    settings: Settings, *, shard_ids: list[int] | None, shard_count: int | None
) -> None:
    """The bot alone: over HTTP when GUILDBANK_API_URL is set, else the API in-process."""
    if settings.api_url:
        bot = await _start_bot(settings, _client(settings, None, None), shard_ids, shard_count)
        try:
            await bot.bot.join()
        finally:
            await bot.close()
        return
    internal_key = secrets.token_urlsafe(32)
    app = create_app(settings, internal_key=internal_key)
    async with app.router.lifespan_context(app):
        bot = await _start_bot(
            settings, _client(settings, app, internal_key), shard_ids, shard_count
        )
        try:
            await bot.bot.join()
        finally:
            await bot.close()
