"""The squads feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.squads import api, commands, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="squads",
    api_routers=(api.router,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("squads", "Squads", "/squads", 40),),
    command_loaders=(commands.loader,),
)
