"""The guilds feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.guilds import api, keys_pages, metadata_api, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="guilds",
    api_routers=(api.router, metadata_api.router),
    pages=(*pages.routes, *keys_pages.routes),
    templates=Path(__file__).parent / "templates",
    nav=(
        NavLink("settings", "Settings", "/settings", 20),
        NavLink("api-keys", "API keys", "/api-keys", 90),
    ),
)
