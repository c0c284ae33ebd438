"""Fixtures of the outbox's end-to-end tests: the bot world, fast retries, and stand-alone
workers with REST clients of their own (like separate bot processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import hikari
import pytest

from guildbank.outbox.executor import Executor
from guildbank.outbox.worker import OutboxWorker
from guildbank.platform.uow import Services
from tests.bot.world import BotWorld
from tests.outbox.helpers import WorkerFactory


@pytest.fixture(autouse=True)
async def _relay_stopped(services: Services) -> AsyncIterator[None]:
    """The event relay stops before the services close (it runs from the first commit)."""
    yield
    await services.relay.close()


@pytest.fixture
async def world(world: BotWorld) -> AsyncIterator[BotWorld]:
    """tests/bot's world; at the end its bots stop, then the event relay (before the world's
    check that no task outlived the test)."""
    yield world
    for gb in list(world.bots):
        await world.stop_bot(gb)
    await world.services.relay.close()


@pytest.fixture
async def make_worker(world: BotWorld) -> AsyncIterator[WorkerFactory]:
    """Start outbox workers outside any gateway bot, each with its own REST client."""
    started: list[tuple[OutboxWorker, hikari.RESTApp, hikari.impl.RESTClientImpl]] = []

    async def make(
        *, executor: Callable[[hikari.api.RESTClient], Executor] = Executor, **options: Any
    ) -> OutboxWorker:
        app = hikari.RESTApp(max_retries=0, max_rate_limit=10.0, url=world.discord.rest_url)
        await app.start()
        rest = app.acquire(world.discord.token, hikari.TokenType.BOT)
        rest.start()
        options.setdefault("wait_seconds", 2.0)
        worker = OutboxWorker(world.client(), executor(rest), **options)
        started.append((worker, app, rest))
        worker.start()
        return worker

    yield make
    for worker, app, rest in started:
        await worker.close()
        await worker.api.aclose()
        await rest.close()
        await app.close()
