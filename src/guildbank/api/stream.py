"""``GET /api/stream``: domain events as Server-Sent Events, live from the event bus.

Who may listen: a bearer API key with the ``read`` scope (any server), or a dashboard session
(only the servers that session may manage, re-checked while the stream is open). Each event is
an SSE ``message`` whose ``id`` is its position in the event log and whose data is the event's
JSON (``id``, ``name``, ``guild_id``, ``data``, ``at``); a first ``ready`` event says the
subscription is live. With Redis configured, events from every process arrive here.

Nothing is missed across reconnects: a client sending ``Last-Event-ID`` (browsers' EventSource
does) first gets every stored event after it, then the live ones, without repeats. A
subscriber too slow for its queue catches up the same way. Events older than the retention
period are gone: a ``gap`` event then says the client should reload what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Protocol

import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from guildbank.api.deps import api_state, authorize
from guildbank.api.errors import ApiError
from guildbank.core.ids import is_snowflake
from guildbank.platform.bus import Event, Subscription
from guildbank.platform.relay import BATCH_SIZE, EventRelay

__all__ = ["SessionScope", "router"]

router = APIRouter(tags=["stream"])
MAX_FILTER_ITEMS = 100
MAX_EVENT_ID = 2**63 - 1
CHECK_SECONDS = 1.0


class SessionScope(Protocol):
    """A dashboard session as the stream sees it (provided by the dashboard at start-up)."""

    @property
    def guilds(self) -> frozenset[str] | None: ...

    async def still_valid(self) -> bool: ...


ScopeResolver = Callable[[Request], Awaitable[SessionScope | None]]


def _message(event: Event) -> dict[str, str]:
    """The SSE message of an event: its JSON was serialised once, whatever the audience."""
    message = {"data": event.wire.decode()}
    if event.id is not None:
        message["id"] = str(event.id)
    return message


def _split(values: list[str] | None) -> list[str]:
    items = [item.strip() for value in values or [] for item in value.split(",")]
    return [item for item in items if item]


async def _allowed_guilds(
    request: Request, wanted: list[str]
) -> tuple[frozenset[str] | None, SessionScope | None]:
    """The guild filter to subscribe with, and the session to re-check (None for API keys)."""
    if request.headers.get("authorization"):
        principal = await authorize(request, "read", cross_guild=True)
        if principal.guild_ids is not None:  # a guild-scoped key hears its guilds only
            refused = [g for g in wanted if g not in principal.guild_ids]
            if refused:
                raise ApiError(
                    403, "forbidden_guild", f"This API key cannot watch guild {refused[0]}"
                )
            return (frozenset(wanted) if wanted else principal.guild_ids), None
        return (frozenset(wanted) if wanted else None), None
    resolve: ScopeResolver | None = getattr(request.app.state, "stream_sessions", None)
    scope = await resolve(request) if resolve is not None else None
    if scope is None:
        raise ApiError(
            401,
            "unauthorized",
            "Missing bearer API key (or dashboard session)",
            {"WWW-Authenticate": "Bearer"},
        )
    if scope.guilds is None:
        return (frozenset(wanted) if wanted else None), scope
    refused = [g for g in wanted if g not in scope.guilds]
    if refused:
        raise ApiError(403, "forbidden", f"Your session cannot watch guild {refused[0]}")
    return (frozenset(wanted) if wanted else scope.guilds), scope


class _Log:
    """The stored events a stream may replay: those of its guilds and names."""

    def __init__(
        self, relay: EventRelay, guilds: frozenset[str] | None, names: frozenset[str] | None
    ) -> None:
        self.relay, self.guilds, self.names = relay, guilds, names

    async def after(self, position: int) -> AsyncIterator[dict[str, str]]:
        """Every stored event after ``position`` (and a ``gap`` if some were purged)."""
        while True:
            batch, purged = await self.relay.published_after(
                position, guilds=self.guilds, names=self.names
            )
            if purged:
                yield {"event": "gap", "data": orjson.dumps({"after": position}).decode()}
            for event in batch:
                yield _message(event)
            if len(batch) < BATCH_SIZE:
                return
            position = batch[-1].id or position


async def _follow(
    subscription: Subscription,
    log: _Log,
    sent: int | None,
    scope: SessionScope | None,
    recheck: float,
) -> AsyncIterator[dict[str, str]]:
    """Stored events after ``sent`` (if given), then live ones without repeats; a session's
    stream ends when the session may no longer watch."""
    if sent is not None:
        async for message in log.after(sent):
            sent = max(sent, int(message.get("id", sent)))
            yield message
    loop = asyncio.get_running_loop()
    next_check = loop.time() + recheck
    while True:
        # Wake at least every second: a flag may say events passed us by (overflowed).
        timeout = CHECK_SECONDS if scope is None else max(0.05, next_check - loop.time())
        try:
            event = await asyncio.wait_for(subscription.queue.get(), timeout)
        except TimeoutError:
            event = None
        if scope is not None and loop.time() >= next_check:
            if not await scope.still_valid():
                return
            next_check = loop.time() + recheck
        if subscription.overflowed and sent is not None:
            # Too slow for the queue: what it dropped is read back from the log.
            subscription.overflowed = False
            async for message in log.after(sent):
                sent = max(sent, int(message.get("id", sent)))
                yield message
            continue
        if event is None or (event.id is not None and sent is not None and event.id <= sent):
            continue
        yield _message(event)
        if event.id is not None:
            sent = event.id


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
        406: {"description": "The client did not ask for text/event-stream"},
    },
)
async def stream(
    request: Request,
    guilds: Annotated[list[str] | None, Query(description="Guild ids (comma-separated)")] = None,
    events: Annotated[list[str] | None, Query(description="Event names (comma-separated)")] = None,
    last_event_id: Annotated[
        int | None,
        Header(ge=0, le=MAX_EVENT_ID, description="Resume after this event id (SSE reconnect)"),
    ] = None,
) -> EventSourceResponse:
    """Live domain events (transfers, daily claims, adjustments, config changes, …).

    Send `Accept: text/event-stream` (browsers' EventSource does); other clients get 406
    rather than a response that never ends.
    """
    wanted, names = _split(guilds), _split(events)
    if len(wanted) > MAX_FILTER_ITEMS or len(names) > MAX_FILTER_ITEMS:
        raise ApiError(422, "validation_error", f"At most {MAX_FILTER_ITEMS} filter values")
    bad = [g for g in wanted if not is_snowflake(g)]
    if bad:
        raise ApiError(422, "validation_error", f"{bad[0]!r} is not a guild id")
    allowed, scope = await _allowed_guilds(request, wanted)
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise ApiError(
            406, "not_acceptable", "This endpoint streams events: send Accept: text/event-stream"
        )
    state = api_state(request)
    bus = state.services.bus
    recheck = max(1.0, state.settings.dashboard_access_cache_seconds)
    ready = orjson.dumps({"guilds": sorted(allowed) if allowed is not None else None}).decode()

    name_filter = frozenset(names) if names else None
    relay = state.services.relay

    async def produce() -> AsyncIterator[dict[str, str]]:
        async with bus.subscribe(guilds=allowed, names=name_filter) as subscription:
            yield {"event": "ready", "data": ready}
            log = _Log(relay, allowed, name_filter)
            async for message in _follow(subscription, log, last_event_id, scope, recheck):
                yield message

    return EventSourceResponse(produce(), ping=state.settings.stream_ping_seconds)
