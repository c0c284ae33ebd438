"""The guilds feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.guilds import api, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="guilds",
    api_routers=(api.router,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("settings", "Settings", "/settings", 20),),
)
