"""``/api/docs`` from our own files: Swagger UI works on an air-gapped box.

FastAPI's docs page loads Swagger UI from a CDN. Here the page, its start-up script and the
Swagger UI assets (the ``fastapi-offline`` package ships Swagger UI 5, which reads OpenAPI
3.1) are all served by the app, and the page's CSP admits nothing from elsewhere. The assets
come from the same public route (``/api/docs?asset=swagger-ui.css``): the API's list of
routes stays what the auth tests walk, with nothing public added to it.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["ASSETS", "DOCS_CSP", "install_docs"]

ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Swagger UI sets style attributes and renders schema examples as data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API docs</title>
<link rel="stylesheet" href="{base}?asset=swagger-ui.css">
<link rel="icon" href="{base}?asset=favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{base}?asset=swagger-ui-bundle.js"></script>
<script src="{base}?asset=init.js"></script>
</body>
</html>
"""
# The page's start-up, as a file (the CSP runs no inline script).
_INIT = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    showExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""
_HEADERS = {"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"}
# The package's files the page uses, by the name the page asks for (nothing else is served).
_FILES = {name: ASSETS / name for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")}


def _is_docs(route: BaseRoute, path: str) -> bool:
    return isinstance(route, Route) and route.path == path


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN docs page at ``app.docs_url`` with one served from our files."""
    base = app.docs_url
    if base is None or app.openapi_url is None:
        return
    app.router.routes[:] = [r for r in app.router.routes if not _is_docs(r, base)]
    page = _PAGE.format(title=app.title, base=base, openapi_url=app.openapi_url)

    async def docs(request: Request) -> Response:
        asset = request.query_params.get("asset")
        if asset is None:
            return HTMLResponse(page, headers=_HEADERS)
        if asset == "init.js":
            return Response(_INIT, media_type="text/javascript", headers=_HEADERS)
        found = _FILES.get(asset)
        if found is None:
            return Response("No such docs asset.", status_code=404, media_type="text/plain")
        return FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})

    app.add_route(base, docs, include_in_schema=False)
