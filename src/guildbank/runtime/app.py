"""The web process: REST API under /api, the admin dashboard under /admin, the live event
stream, health, metrics and the landing page.

``create_app`` takes already-built services (tests, the all-in-one ``run``) or builds them
from settings in its lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from guildbank.api import health, stream
from guildbank.api.deps import Reader
from guildbank.api.errors import install_error_handlers
from guildbank.api.lean import API_PREFIX
from guildbank.api.middleware import GzipWhenAccepted, RequestContextMiddleware
from guildbank.api.state import ApiState
from guildbank.features.guilds.events import ConfigChanged
from guildbank.features.guilds.queries import forget_config
from guildbank.platform.apikeys import ALL_SCOPES, Principal
from guildbank.platform.uow import Services
from guildbank.runtime.dashboard import build_dashboard
from guildbank.runtime.registry import FEATURES
from guildbank.runtime.services import build_services
from guildbank.settings import Settings
from guildbank.web import landing
from guildbank.web.live import stream_scope
from guildbank.web.security import SecurityHeadersMiddleware
from guildbank.web.state import DashboardState

__all__ = ["create_app"]

EMBEDDED_BOT = Principal(key_id=0, name="embedded-bot", scopes=frozenset(ALL_SCOPES))
API_DESCRIPTION = """Authenticated REST API of guildbank. Send `Authorization: Bearer <key>`
(create keys with `guildbank create-api-key`). Every write accepts an `Idempotency-Key` header.
Errors are `{"detail": "...", "code": "..."}`."""


async def _drop_changed_configs(services: Services) -> None:
    """Every process forgets a guild's cached settings when any process changes them."""
    async with services.bus.subscribe(names=[ConfigChanged.name]) as subscription:
        while True:
            event = await subscription.queue.get()
            forget_config(services, event.guild_id)


def create_app(
    settings: Settings, services: Services | None = None, *, internal_key: str | None = None
) -> FastAPI:
    """The web app; ``internal_key`` is an in-memory key for the embedded bot's client."""
    owns_services = services is None

    def install_state(app: FastAPI, state: ApiState) -> None:
        if internal_key is not None:
            state.internal_keys[internal_key] = EMBEDDED_BOT
        app.state.api = state
        app.state.dashboard = DashboardState(settings, state.services)
        app.state.stream_sessions = stream_scope

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_services:
            install_state(app, ApiState(settings, build_services(settings)))
        watcher = asyncio.create_task(_drop_changed_configs(app.state.api.services))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await app.state.dashboard.close()
            if owns_services:
                await app.state.api.services.close()

    app = FastAPI(
        title="guildbank",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    if services is not None:
        install_state(app, ApiState(settings, services))
    install_error_handlers(app)
    app.add_middleware(GzipWhenAccepted, minimum_size=1024)
    app.add_middleware(SecurityHeadersMiddleware, production=settings.env == "production")
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(landing.router)
    for feature in FEATURES:
        for router in feature.api_routers:
            app.include_router(router, prefix=API_PREFIX)
    app.include_router(stream.router, prefix=API_PREFIX)
    # The busiest routes go in front of every router (api.lean).
    app.router.routes[:0] = [route for feature in FEATURES for route in feature.lean_routes]
    app.mount("/admin", build_dashboard(FEATURES))

    @app.get("/metrics", include_in_schema=False, dependencies=[Reader])
    async def metrics() -> Response:
        """Prometheus metrics; scrape with a read-scoped API key as bearer token."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
