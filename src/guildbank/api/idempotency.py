"""Writes over HTTP: one unit of work per request, honouring ``Idempotency-Key``.

A replayed key returns the stored first response with ``Idempotent-Replayed: true`` and moves
nothing; what "the same request" means, and how records are written and purged, is in
``platform/idempotency.py``. Most writes go through ``write``, which records the key around
the use case in its transaction. A use case that records the key itself, in its own
statement (the transfer, one round trip on PostgreSQL), goes through ``write_recording``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from guildbank.api.deps import RawJSONResponse, api_state, render_json
from guildbank.api.errors import ApiError
from guildbank.core.errors import GuildbankError, IdempotencyKeyReused
from guildbank.platform import idempotency
from guildbank.platform.apikeys import Principal
from guildbank.platform.idempotency import IdempotentRequest, Replayed, StoredResponse
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "REPLAYED_HEADER",
    "idempotent_request",
    "write",
    "write_recording",
]

MAX_IDEMPOTENCY_KEY = 255
REPLAYED_HEADER = "Idempotent-Replayed"
_REPLAYED = {REPLAYED_HEADER: "true"}


def _json(result: Any) -> Any:
    """The result as plain JSON data, as an idempotency record stores it."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_json(item) for item in result]
    return result


def idempotent_request(request: Request, guild_id: str, body: bytes) -> IdempotentRequest | None:
    """The request's ``Idempotency-Key`` with what it asks (None without the header); the
    route must have authorized the caller (``api.deps.authorize``), whose key owns it."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
        )
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        msg = "an idempotent write needs an authorized caller: authorize() before write()"
        raise RuntimeError(msg)
    return IdempotentRequest.of(
        owner=principal.key_id,
        key=key,
        guild_id=guild_id,
        method=request.method,
        path=request.url.path,
        body=body,
    )


async def write(
    request: Request,
    guild_id: str,
    action: Callable[[UnitOfWork], Awaitable[Any]],
    *,
    status_code: int = 200,
) -> Response:
    """Run a write use case in one unit of work, honouring ``Idempotency-Key``.

    The key is looked up first and recorded with the write's response before the commit, in
    the same transaction: a failed write leaves the key unused.
    """
    keyed = idempotent_request(request, guild_id, await request.body())
    async with unit_of_work(api_state(request).services) as uow:
        if keyed is None:
            body = render_json(await action(uow))
            await uow.commit()
            return RawJSONResponse(body, status_code=status_code)

        async def recorded(uow: UnitOfWork) -> Any:
            await idempotency.replay_if_recorded(uow, keyed)
            result = _json(await action(uow))
            await idempotency.record(uow, keyed, status_code=status_code, body=result)
            return result

        result = await _attempt(uow, keyed, recorded)
    if isinstance(result, StoredResponse):
        return JSONResponse(result.body, status_code=result.status_code, headers=_REPLAYED)
    return JSONResponse(result, status_code=status_code)


async def write_recording(
    request: Request,
    keyed: IdempotentRequest | None,
    action: Callable[[UnitOfWork], Awaitable[BaseModel]],
    *,
    model: type[BaseModel],
) -> Response:
    """Run a write use case that records ``keyed`` itself (raising Replayed for a known key).

    Replays are rendered through ``model`` as the first response was, so both are the same
    bytes whichever path stored the record.
    """
    async with unit_of_work(api_state(request).services) as uow:
        if keyed is None:
            body = render_json(await action(uow))
            await uow.commit()
            return RawJSONResponse(body)
        result = await _attempt(uow, keyed, action)
    if isinstance(result, StoredResponse):
        replayed = model.model_validate(result.body).model_dump_json().encode()
        return RawJSONResponse(replayed, status_code=result.status_code, headers=_REPLAYED)
    return RawJSONResponse(render_json(result))


async def _attempt(
    uow: UnitOfWork, keyed: IdempotentRequest, action: Callable[[UnitOfWork], Awaitable[Any]]
) -> Any:
    """The committed result of ``action``, or the key's stored response (a StoredResponse)."""
    try:
        result = await action(uow)
    except Replayed as replayed:
        return replayed.stored
    except IdempotencyKeyReused:
        raise
    except GuildbankError:
        # A concurrent twin may have committed this key while we waited on its row locks (its
        # daily made ours "already claimed", its transfer spent the balance): its response.
        await uow.rollback()
        stored = await idempotency.recall(uow, keyed)
        if stored is None:
            raise
        return stored
    await uow.commit()
    return result
