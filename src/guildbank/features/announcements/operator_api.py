"""Operator endpoints (global API keys): the bot's presence and restart, the bots' sync long
poll, system status, operator defaults for new guilds, and this process's recent logs.

``POST /api/bot/sync`` is how bot processes learn about changes within seconds over HTTP and
in-process alike (the embedded bot's ASGI transport cannot read an SSE stream): answered at
once when something differs from what the bot applied, otherwise when a presence, restart or
custom-command event reaches this process's bus, else after ``wait_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from guildbank.api.deps import Admin, Caller, RawJSONResponse, api_state, read, render_json
from guildbank.api.idempotency import write
from guildbank.features.announcements import operator
from guildbank.features.announcements.events import (
    OPERATOR_GUILD,
    BotRestartRequested,
    CustomCommandsChanged,
    PresenceChanged,
)
from guildbank.features.announcements.logring import RING
from guildbank.features.announcements.schemas import (
    MAX_VERSION,
    BotStatusOut,
    BotSyncIn,
    BotSyncOut,
    GuildDefaults,
    OperatorSettingsOut,
    PresenceIn,
    PresenceOut,
)
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = ["router"]

router = APIRouter(tags=["operator"])
WAKE = [PresenceChanged.name, BotRestartRequested.name, CustomCommandsChanged.name]


class RestartOut(BaseModel):
    restart_version: int


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: GuildDefaults
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class LogsOut(BaseModel):
    lines: list[dict[str, Any]]


class ClearedOut(BaseModel):
    cleared: int


@router.get("/bot/status", response_model=PresenceOut)
async def get_presence(request: Request, _: Caller) -> Response:
    """The presence every bot process shows (status and activity)."""
    return await read(request, operator.get_presence)


@router.put(
    "/bot/status",
    response_model=PresenceOut,
    dependencies=[Admin],
    responses={409: {"description": "`stale_version`"}},
)
async def put_presence(request: Request, body: PresenceIn) -> Response:
    """Set the presence; every running bot applies it within seconds, and keeps it."""

    async def action(uow: UnitOfWork) -> PresenceOut:
        return await operator.put_presence(uow, presence=body)

    return await write(request, OPERATOR_GUILD, action)


@router.post("/bot/restart", response_model=RestartOut, dependencies=[Admin])
async def restart(request: Request) -> Response:
    """Every bot process of this deployment reconnects its gateway shards."""

    async def action(uow: UnitOfWork) -> RestartOut:
        return RestartOut(restart_version=await operator.request_restart(uow))

    return await write(request, OPERATOR_GUILD, action)


@router.post("/bot/sync", response_model=BotSyncOut, dependencies=[Admin])
async def bot_sync(request: Request, body: BotSyncIn) -> Response:
    """A bot process's heartbeat and long poll: the presence, the restart version, and the
    guilds whose custom commands differ from the versions it sent. (Repeating it is harmless:
    bots send no Idempotency-Key; with one, it answers at once and replays that answer.)"""
    services = api_state(request).services
    if request.headers.get("idempotency-key") is not None:

        async def keyed(uow: UnitOfWork) -> BotSyncOut:
            await operator.heartbeat(uow, body)
            return await operator.sync(uow, body)

        return await write(request, OPERATOR_GUILD, keyed)

    async def attempt() -> BotSyncOut:
        async with unit_of_work(services) as uow:
            await operator.heartbeat(uow, body)
            answer = await operator.sync(uow, body)
            await uow.commit()
        return answer

    def differs(answer: BotSyncOut) -> bool:
        return (
            answer.presence.version != body.presence_version
            or (body.restart_version is not None and answer.restart_version != body.restart_version)
            or bool(answer.command_guilds)
        )

    async with services.bus.subscribe(names=WAKE) as subscription:
        answer = await asyncio.shield(attempt())
        if not differs(answer) and body.wait_seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(body.wait_seconds):
                    await subscription.queue.get()
            answer = await asyncio.shield(attempt())
    return RawJSONResponse(render_json(answer))


@router.get("/status", response_model=BotStatusOut)
async def status(request: Request, _: Caller) -> Response:
    """The bot per shard (online when heard from in the last 45 s), uptime, guild count,
    the outbox backlog, and the presence."""
    return await read(request, operator.bot_status)


@router.get("/settings", response_model=OperatorSettingsOut)
async def get_settings(request: Request, _: Caller) -> Response:
    """Operator-wide defaults for new guilds."""
    return await read(request, operator.get_defaults)


@router.put(
    "/settings",
    response_model=OperatorSettingsOut,
    dependencies=[Admin],
    responses={
        400: {"description": "`invalid_setting`: defaults no guild could be saved with"},
        409: {"description": "`stale_version`"},
    },
)
async def put_settings(request: Request, body: SettingsIn) -> Response:
    """Defaults for guilds registered from now on (those registered keep their settings)."""

    async def action(uow: UnitOfWork) -> OperatorSettingsOut:
        return await operator.put_defaults(
            uow, defaults=body.defaults, expected_version=body.expected_version
        )

    return await write(request, OPERATOR_GUILD, action)


@router.get("/logs", response_model=LogsOut, dependencies=[Admin])
async def get_logs(
    level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"] | None,
        Query(description="This level and above"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> LogsOut:
    """This process's recent log lines (a bounded ring), secrets redacted."""
    return LogsOut(lines=RING.lines(level=level, limit=limit))


@router.delete("/logs", response_model=ClearedOut, dependencies=[Admin])
async def clear_logs(request: Request) -> Response:
    """Empty this process's ring (clearing twice is harmless)."""

    async def action(_uow: UnitOfWork) -> ClearedOut:
        return ClearedOut(cleared=RING.clear())

    return await write(request, OPERATOR_GUILD, action)
