"""Liveness and readiness: ``/health`` answers anyone; ``/health/detailed`` (which names the
backends and their errors) needs an API key, like everything but ``/``, ``/health`` and the docs.
It also reports the outbox backlog: jobs pending, running and failed, and how long the oldest
pending one has waited (a bot that is down shows here first)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from guildbank.api.deps import Reader, api_state
from guildbank.outbox import queries as outbox_queries
from guildbank.platform.uow import unit_of_work

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/detailed",
    dependencies=[Reader],
    responses={
        401: {"description": "Missing, invalid or revoked API key"},
        403: {"description": "The key lacks the read scope"},
    },
)
async def health_detailed(request: Request) -> Response:
    state = api_state(request)
    checks: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    try:
        async with state.services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = {
            "ok": True,
            "backend": state.services.dialect,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    except Exception as error:
        checks["database"] = {"ok": False, "error": repr(error)}
    ping = getattr(state.services.bus, "ping", None)
    if ping is not None:
        try:
            await ping()
            checks["redis"] = {"ok": True}
        except Exception as error:
            checks["redis"] = {"ok": False, "error": repr(error)}
    try:
        async with unit_of_work(state.services, read_only=True) as uow:
            backlog = await outbox_queries.backlog(uow)
            await uow.commit()
        # Informational: a backlog waits for a bot, it does not make this process unhealthy.
        checks["outbox"] = {"ok": True, **backlog.model_dump()}
    except Exception as error:
        checks["outbox"] = {"ok": False, "error": repr(error)}
    healthy = all(bool(c["ok"]) for c in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
