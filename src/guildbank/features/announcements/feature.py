"""The announcements feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guildbank.core.feature import Feature, NavLink
from guildbank.features.announcements import api, commands_api, embeds_api, operator_api, pages

if TYPE_CHECKING:
    import lightbulb

__all__ = ["FEATURE"]


def _command_loaders() -> tuple[lightbulb.Loader, ...]:
    """Custom commands are registered per guild by ``listeners`` (runtime/bot.py), not here."""
    return ()


FEATURE = Feature(
    name="announcements",
    api_routers=(
        embeds_api.router,
        api.router,
        commands_api.router,
        api.channels_router,
        operator_api.router,
    ),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(
        NavLink("announcements", "Announcements", "/announcements", 48),
        NavLink("embeds", "Embeds", "/embeds", 49),
    ),
    command_loaders=_command_loaders,
)
