"""The imports feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.imports import api, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="imports",
    api_routers=(api.router,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("import", "Import", "/import", 95),),
)
