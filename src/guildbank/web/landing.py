"""The plain landing page at ``/``: what is running and where to go next (styled by the
dashboard's stylesheet: the CSP allows no inline styles)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>guildbank</title>
<link rel="icon" href="/admin/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/static/app.css">
</head><body class="landing"><main>
<h1>guildbank is running</h1>
<p>A Discord economy on a double-entry ledger. This process serves:</p>
<ul>
<li>the admin dashboard at <a href="/admin/">/admin</a></li>
<li>the REST API at <code>/api</code> &mdash; <a href="/api/docs">interactive docs</a>,
<a href="/api/openapi.json">OpenAPI schema</a></li>
<li>health at <a href="/health">/health</a> (details at /health/detailed with an API key)</li>
<li>database: <code>{backend}</code>; event bus: <code>{bus}</code>;
Discord bot: <code>{bot}</code></li>
</ul>
<p>Create an API key with <code>guildbank create-api-key --name me</code>.</p>
</main></body></html>
"""


@router.get("/")
async def landing(request: Request) -> HTMLResponse:
    state = request.app.state.api
    bot = "running" if getattr(request.app.state, "bot_running", False) else "not configured"
    return HTMLResponse(
        PAGE.format(
            backend=escape(state.services.dialect),
            bus=escape(type(state.services.bus).__name__),
            bot=escape(bot),
        )
    )
