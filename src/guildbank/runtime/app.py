"""The web process: REST API under /api, the admin dashboard under /admin, the live event
stream, health, metrics and the landing page.

``create_app`` takes already-built services (tests, the all-in-one ``run``) or builds them
from settings in its lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from guildbank.api import health, stream
from guildbank.api.deps import Reader
from guildbank.api.errors import install_error_handlers
from guildbank.api.lean import API_PREFIX
from guildbank.api.middleware import GzipWhenAccepted, RequestContextMiddleware
from guildbank.api.openapi import install_openapi
from guildbank.api.state import ApiState
from guildbank.features.announcements.logring import install as install_log_ring
from guildbank.features.announcements.scheduler import AnnouncementScheduler
from guildbank.features.guilds.events import ConfigChanged
from guildbank.features.guilds.queries import forget_all_configs, forget_config
from guildbank.features.shop.scheduler import ShopExpiryScheduler
from guildbank.features.tasks.scheduler import ExpiryScheduler
from guildbank.platform.apikeys import ALL_SCOPES, Principal
from guildbank.platform.background import stop_task
from guildbank.platform.idempotency import purge_forever
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
Errors are `{"detail": "...", "code": "..."}` (`ErrorOut`; a 422 adds `errors`); a 503
`database_unavailable` carries `Retry-After`. Each operation lists the errors it can answer."""


async def _drop_changed_configs(services: Services) -> None:
    """Every process forgets a guild's cached settings when any process changes them."""
    async with services.bus.subscribe(names=[ConfigChanged.name]) as subscription:
        while True:
            try:
                event = await asyncio.wait_for(subscription.queue.get(), 1.0)
            except TimeoutError:
                event = None
            if subscription.overflowed:  # some changes may have passed us by: forget them all
                subscription.overflowed = False
                forget_all_configs(services)
            if event is not None:
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
        # Events stored while no relay ran (a restart, an outage) go out now.
        app.state.api.services.relay.start()
        watcher = asyncio.create_task(_drop_changed_configs(app.state.api.services))
        # Idempotency records past their retention are deleted here (platform/idempotency.py).
        purger = asyncio.create_task(
            purge_forever(
                app.state.api.services,
                retention=timedelta(hours=settings.idempotency_retention_hours),
                every=timedelta(minutes=settings.idempotency_purge_minutes),
            )
        )
        # Task expiry: every web process runs it, one at a time works (a database lease).
        task_expiry = ExpiryScheduler(app.state.api.services)
        task_expiry.start()
        # Scheduled announcements: same shape (features/announcements/scheduler.py).
        announcing = AnnouncementScheduler(app.state.api.services)
        announcing.start()
        # Expired shop items: their Discord posts go (features/shop/scheduler.py).
        shop_expiry = ShopExpiryScheduler(app.state.api.services)
        shop_expiry.start()
        install_log_ring()  # GET /api/logs: this process's recent lines, redacted
        try:
            yield
        finally:
            await task_expiry.stop()
            await announcing.stop()
            await shop_expiry.stop()
            await stop_task(watcher)
            await stop_task(purger)
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
    install_openapi(app)
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
