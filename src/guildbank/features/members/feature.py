"""The members feature as the runtime assembles it: the members API (``/users``, the bot's
presence reports, the economy reset) and the Members tab."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.members import api, pages

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="members",
    api_routers=(api.router,),
    pages=tuple(pages.routes),
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("members", "Members", "/members", 30),),
)
