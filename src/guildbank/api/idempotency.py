"""Writes over HTTP: one unit of work per request, honouring ``Idempotency-Key``.

A replayed key returns the stored first response (with ``Idempotent-Replayed: true``) and
moves nothing; the record is written in the same transaction as the write it describes, so a
failed write leaves the key unused and concurrent twins apply once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from guildbank.api.deps import RawJSONResponse, api_state, render_json
from guildbank.api.errors import ApiError
from guildbank.core.errors import GuildbankError
from guildbank.platform import idempotency
from guildbank.platform.uow import UnitOfWork, unit_of_work

__all__ = ["MAX_IDEMPOTENCY_KEY", "write"]

MAX_IDEMPOTENCY_KEY = 255


def _json(result: Any) -> Any:
    """The result as plain JSON data, as an idempotency record stores it."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_json(item) for item in result]
    return result


async def write(
    request: Request,
    guild_id: str,
    action: Callable[[UnitOfWork], Awaitable[Any]],
    *,
    status_code: int = 200,
) -> Response:
    """Run a write use case in one unit of work, honouring ``Idempotency-Key``.

    A replayed key returns the stored first response and moves nothing; the record is
    committed together with the write, so a failed write leaves the key unused.
    """
    state = api_state(request)
    key = request.headers.get("idempotency-key")
    async with unit_of_work(state.services) as uow:
        if key is None:
            body = render_json(await action(uow))
            await uow.commit()
            return RawJSONResponse(body, status_code=status_code)
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise ApiError(
                422,
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            )
        print_ = idempotency.fingerprint(request.method, request.url.path, await request.body())
        stored = await idempotency.recall(uow, scope=guild_id, key=key, fingerprint=print_)
        if stored is None:
            try:
                result = _json(await action(uow))
            except GuildbankError:
                # A concurrent twin may have committed this key while we waited on its row
                # locks (its daily made ours "already claimed"): answer with its result.
                await uow.rollback()
                stored = await idempotency.recall(uow, scope=guild_id, key=key, fingerprint=print_)
                if stored is None:
                    raise
            else:
                stored = await idempotency.remember(
                    uow,
                    scope=guild_id,
                    key=key,
                    fingerprint=print_,
                    status_code=status_code,
                    body=result,
                )
                if stored is None:
                    await uow.commit()
                    return JSONResponse(result, status_code=status_code)
                await uow.rollback()
        return JSONResponse(
            stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
        )
