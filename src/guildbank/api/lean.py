"""A route class for the busiest endpoints: documented like any FastAPI route, served without
FastAPI's per-request dependency machinery, and matched first.

FastAPI still reads the endpoint's signature and ``openapi_extra`` for the OpenAPI schema, but a
request goes straight to ``endpoint(request, **path_params)``; the endpoint checks its key and
parses its body itself (``api.deps.authorize``, ``api.deps.parse_body``: same rules, same
errors). That saves about 45 µs of CPU per request on the transfer route (bench/README.md).

A feature declares such routes with their full path (``Feature.lean_routes``); the app puts
them in front of every router, so a request does not first walk the included routers (which
costs another ~20 µs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["API_PREFIX", "LeanRoute", "lean_route"]

# Where the REST API is mounted (the routers are included under it by the runtime).
API_PREFIX = "/api"


class LeanRoute(APIRoute):
    """An API route whose endpoint takes the request and the raw path parameters."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint

        async def handle(request: Request) -> Response:
            params: dict[str, Any] = request.path_params
            return await endpoint(request, **params)

        return handle


def lean_route(
    path: str, endpoint: Callable[..., Awaitable[Response]], **options: Any
) -> LeanRoute:
    """A lean route at ``path`` under the API prefix; ``options`` are ``APIRoute``'s."""
    return LeanRoute(API_PREFIX + path, endpoint, **options)
