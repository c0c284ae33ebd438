"""The admin dashboard under ``/admin``: the kit's login pages, every feature's pages and
the static files.

It is mounted as a plain Starlette router (not FastAPI routes), so it stays out of the
OpenAPI schema and out of the API's bearer-key contract: it has its own session auth.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Mount, Router
from starlette.staticfiles import StaticFiles

from guildbank.core.feature import Feature
from guildbank.web import login
from guildbank.web.templating import STATIC, add_feature_pages

__all__ = ["build_dashboard"]


def build_dashboard(features: Iterable[Feature]) -> Router:
    """The ``/admin`` router (mount it at ``/admin``) with each feature's pages and tabs."""
    routes: list[BaseRoute] = list(login.routes)
    for feature in features:
        add_feature_pages(feature.templates, feature.nav, feature.nav_badges)
        routes.extend(feature.pages)
    return Router(routes=[*routes, Mount("/static", StaticFiles(directory=STATIC), name="static")])
