"""The economy feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guildbank.core.feature import Feature, NavLink
from guildbank.features.economy import (
    admin_api,
    api,
    pages,
    transaction_pages,
)

if TYPE_CHECKING:
    import lightbulb

__all__ = ["FEATURE"]


def _command_loaders() -> tuple[lightbulb.Loader, ...]:
    """The Discord commands, imported when the bot asks for them (not by the web process)."""
    from guildbank.features.economy import admin_commands, commands  # noqa: PLC0415

    return (commands.loader, admin_commands.loader)


FEATURE = Feature(
    name="economy",
    api_routers=(api.router, admin_api.router),
    lean_routes=(api.TRANSFER_ROUTE,),
    pages=(*pages.routes, *transaction_pages.routes),
    templates=Path(__file__).parent / "templates",
    nav=(
        NavLink("overview", "Overview", "", 10),
        NavLink("transactions", "Transactions", "/transactions", 50),
    ),
    command_loaders=_command_loaders,
)
