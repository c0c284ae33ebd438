"""Pure-ASGI middlewares on every request, kept cheap because every request pays for them.

``RequestContextMiddleware`` gives each request an id (logs, ``X-Request-ID``) and counts it
in Prometheus metrics; ``GzipWhenAccepted`` compresses only for clients that ask for it.
"""

from __future__ import annotations

import itertools
import os
import time

import structlog
from prometheus_client import Counter, Histogram
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GzipWhenAccepted", "RequestContextMiddleware"]

REQUESTS = Counter("guildbank_http_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram("guildbank_http_request_seconds", "HTTP request latency", ["method"])


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Ids unique per process start and cheap to make: a random prefix and a counter.
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(1)
        self._requests: dict[tuple[str, int], Counter] = {}
        self._latency: dict[str, Histogram] = {}

    def _record(self, method: str, status: int, seconds: float) -> None:
        counter = self._requests.get((method, status))
        if counter is None:
            counter = self._requests[method, status] = REQUESTS.labels(method, str(status))
        counter.inc()
        latency = self._latency.get(method)
        if latency is None:
            latency = self._latency[method] = LATENCY.labels(method)
        latency.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = (
            next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
            or f"{self._prefix}{next(self._counter):x}"
        )
        header = (b"x-request-id", request_id.encode("latin-1"))
        token = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope["method"], status, time.perf_counter() - started)
            structlog.contextvars.reset_contextvars(**token)


class GzipWhenAccepted:
    """Starlette's gzip for clients that accept it; everyone else skips its wrapping."""

    def __init__(self, app: ASGIApp, *, minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"accept-encoding" and b"gzip" in value:
                    await self.gzip(scope, receive, send)
                    return
        await self.app(scope, receive, send)
