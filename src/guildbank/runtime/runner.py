"""Running processes: the web server (one process or ``--workers N``), the bot, or both in
one event loop (embedded mode).

Shutdown (SIGTERM, or Ctrl+C) is graceful and exits 0: the bot closes its gateway first,
while the API it calls in-process still works; then the server stops accepting, lets
in-flight requests finish (up to ``shutdown_grace_seconds``) and runs the app's lifespan
shutdown, which closes the services. A second Ctrl+C stops waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from guildbank.runtime.app import create_app
from guildbank.runtime.client import GuildbankClient
from guildbank.settings import Settings

if TYPE_CHECKING:
    from guildbank.runtime.bot import GuildbankBot

__all__ = ["run_bot", "serve", "serve_workers", "worker_app"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: ``serve`` owns SIGINT/SIGTERM so it
    can close the bot before the server drains, and return (exit 0) instead of re-raising
    the signal once done."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def _stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (main thread only)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop.set)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            continue
        installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _client(settings: Settings, app: FastAPI | None, internal_key: str | None) -> GuildbankClient:
    if settings.api_url:
        return GuildbankClient.over_http(settings.api_url, settings.api_key.get_secret_value())
    assert app is not None
    assert internal_key is not None
    return GuildbankClient.in_process(app, internal_key)


async def _start_bot(
    settings: Settings, api: GuildbankClient, shard_ids: list[int] | None, shard_count: int | None
) -> GuildbankBot:
    from guildbank.runtime.bot import create_bot  # noqa: PLC0415 - hikari only for the bot

    bot = await create_bot(
        settings.discord_token.get_secret_value(),
        api,
        rest_url=settings.discord_api_url,
        command_guilds=settings.discord_command_guilds,
        sync_commands=shard_ids is None or 0 in shard_ids,
        role_reconcile_minutes=settings.role_reconcile_minutes,
        outbox_wait_seconds=settings.outbox_poll_seconds,
    )
    await bot.start(shard_ids=shard_ids, shard_count=shard_count)
    return bot


def _config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


async def _bot_once_serving(
    settings: Settings,
    app: FastAPI,
    internal_key: str,
    server: tuple[uvicorn.Server, asyncio.Task[None]],
    stop: asyncio.Event,
) -> GuildbankBot | None:
    """Start the embedded bot once the server listens (None if it stopped first)."""
    uvicorn_server, serving = server
    while not uvicorn_server.started and not serving.done() and not stop.is_set():  # noqa: ASYNC110 - uvicorn has a flag only
        await asyncio.sleep(0.05)
    if serving.done() or stop.is_set():
        return None
    bot = await _start_bot(settings, _client(settings, app, internal_key), None, None)
    app.state.bot_running = True
    return bot


async def _cancel(*tasks: asyncio.Task[object]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(settings: Settings, *, with_bot: bool) -> None:
    """Serve the web app; with a token, run the bot beside it in the same process.

    Returns once the server stopped: on SIGINT/SIGTERM, when the bot's gateway ends, or when
    the task running it is cancelled (the server still stops gracefully then).
    """
    internal_key = secrets.token_urlsafe(32) if with_bot else None
    app = create_app(settings, internal_key=internal_key)
    server = _Server(_config(settings, app))
    bot: GuildbankBot | None = None
    async with _stop_signals() as stop:
        serving = asyncio.create_task(server.serve())
        stopping = asyncio.create_task(stop.wait())
        joined: asyncio.Task[None] | None = None
        try:
            if with_bot and internal_key is not None:
                bot = await _bot_once_serving(settings, app, internal_key, (server, serving), stop)
            if bot is not None:
                joined = asyncio.create_task(bot.bot.join())
            # asyncio.wait leaves the tasks running when this is cancelled: see finally.
            waits = {serving, stopping} if joined is None else {serving, stopping, joined}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(*(task for task in (stopping, joined) if task is not None))
            app.state.bot_running = False
            if bot is not None:
                await bot.close()  # the gateway first, while the API it calls still runs
            if stop.is_set():
                # A signal: uvicorn's own path, which also ends live streams (sse-starlette).
                server.handle_exit(signal.SIGTERM, None)
            server.should_exit = True
            await serving


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process (a uvicorn factory): settings from the
    environment and ``.env``, as the parent read them."""
    from guildbank.platform.logs import configure_logging  # noqa: PLC0415 - per worker

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)


def serve_workers(settings: Settings, workers: int) -> None:
    """``workers`` uvicorn processes on one socket, each with its own services and its own
    PostgreSQL connection budget; uvicorn's supervisor restarts a worker that dies and, on
    SIGTERM, stops every worker gracefully."""
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


async def _run_until_stopped(bot: GuildbankBot) -> None:
    async with _stop_signals() as stop:
        joined = asyncio.create_task(bot.bot.join())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({joined, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(joined, stopping)
            await bot.close()


async def run_bot(
    settings: Settings, *, shard_ids: list[int] | None, shard_count: int | None
) -> None:
    """The bot alone: over HTTP when GUILDBANK_API_URL is set, else the API in-process.
    SIGTERM closes the gateway (and then the in-process API) and returns."""
    if settings.api_url:
        bot = await _start_bot(settings, _client(settings, None, None), shard_ids, shard_count)
        await _run_until_stopped(bot)
        return
    internal_key = secrets.token_urlsafe(32)
    app = create_app(settings, internal_key=internal_key)
    async with app.router.lifespan_context(app):
        bot = await _start_bot(
            settings, _client(settings, app, internal_key), shard_ids, shard_count
        )
        await _run_until_stopped(bot)
