"""The archive feature as the runtime assembles it: the API under
``/api/guilds/{g}/transactions`` (archive, archives, download) and the Archive tab."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.archive import api, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="archive",
    api_routers=(api.router,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("archive", "Archive", "/archive", 55),),
)
