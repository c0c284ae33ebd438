"""``GET /api/stream``: domain events as Server-Sent Events, live from the event bus.

Who may listen: a bearer API key with the ``read`` scope (any server), or a dashboard session
(only the servers that session may manage, re-checked while the stream is open). Each event is
an SSE ``message`` whose data is the event's JSON (``name``, ``guild_id``, ``data``, ``at``);
a first ``ready`` event says the subscription is live. With Redis configured, events from
every process arrive here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Protocol

import orjson
from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse

from guildbank.api.deps import api_state, require
from guildbank.api.errors import ApiError
from guildbank.core.ids import is_snowflake

__all__ = ["SessionScope", "router"]

router = APIRouter(tags=["stream"])
MAX_FILTER_ITEMS = 100


class SessionScope(Protocol):
    """A dashboard session as the stream sees it (provided by the dashboard at start-up)."""

    @property
    def guilds(self) -> frozenset[str] | None: ...

    async def still_valid(self) -> bool: ...


ScopeResolver = Callable[[Request], Awaitable[SessionScope | None]]


def _split(values: list[str] | None) -> list[str]:
    items = [item.strip() for value in values or [] for item in value.split(",")]
    return [item for item in items if item]


async def _allowed_guilds(
    request: Request, wanted: list[str]
) -> tuple[frozenset[str] | None, SessionScope | None]:
    """The guild filter to subscribe with, and the session to re-check (None for API keys)."""
    if request.headers.get("authorization"):
        await require("read")(request)
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

    async def produce() -> AsyncIterator[dict[str, str]]:
        loop = asyncio.get_running_loop()
        async with bus.subscribe(guilds=allowed, names=names or None) as subscription:
            yield {"event": "ready", "data": ready}
            next_check = loop.time() + recheck
            while True:
                timeout = None if scope is None else max(0.05, next_check - loop.time())
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), timeout)
                except TimeoutError:
                    event = None
                if scope is not None and loop.time() >= next_check:
                    if not await scope.still_valid():
                        return
                    next_check = loop.time() + recheck
                if event is not None:
                    yield {"data": orjson.dumps(event.to_json()).decode()}

    return EventSourceResponse(produce(), ping=state.settings.stream_ping_seconds)
