"""A pure-ASGI middleware giving every request an id (logs, ``X-Request-ID``) and metrics."""

from __future__ import annotations

import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestContextMiddleware"]

REQUESTS = Counter("guildbank_http_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram("guildbank_http_request_seconds", "HTTP request latency", ["method"])


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = (
            next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
            or uuid.uuid4().hex
        )
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUESTS.labels(scope["method"], str(status)).inc()
            LATENCY.labels(scope["method"]).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
