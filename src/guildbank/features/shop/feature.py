"""The shop feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guildbank.core.feature import Feature, NavLink
from guildbank.features.shop import api, pages

if TYPE_CHECKING:
    import lightbulb

__all__ = ["FEATURE"]


def _command_loaders() -> tuple[lightbulb.Loader, ...]:
    """The Discord commands, imported when the bot asks for them (not by the web process)."""
    from guildbank.features.shop import commands  # noqa: PLC0415

    return (commands.loader,)


FEATURE = Feature(
    name="shop",
    api_routers=(api.router,),
    lean_routes=(api.BUY_ROUTE,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("shop", "Shop", "/shop", 45),),
    command_loaders=_command_loaders,
)
