"""The economy feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.features.economy import (
    admin_api,
    admin_commands,
    api,
    commands,
    member_api,
    member_pages,
    pages,
    transaction_pages,
)

__all__ = ["FEATURE"]

FEATURE = Feature(
    name="economy",
    api_routers=(api.router, admin_api.router, member_api.router),
    lean_routes=(api.TRANSFER_ROUTE,),
    pages=(*pages.routes, *member_pages.routes, *transaction_pages.routes),
    templates=Path(__file__).parent / "templates",
    nav=(
        NavLink("overview", "Overview", "", 10),
        NavLink("members", "Members", "/members", 30),
        NavLink("transactions", "Transactions", "/transactions", 50),
    ),
    command_loaders=(commands.loader, admin_commands.loader),
)
