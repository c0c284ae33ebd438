"""The tasks feature as the runtime assembles it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guildbank.core.feature import Feature, NavLink
from guildbank.features.tasks import api, pages
from guildbank.features.tasks.queries import awaiting_review

if TYPE_CHECKING:
    import lightbulb

__all__ = ["FEATURE"]


def _command_loaders() -> tuple[lightbulb.Loader, ...]:
    """The Discord commands, imported when the bot asks for them (not by the web process)."""
    from guildbank.features.tasks import commands, listeners  # noqa: PLC0415

    return (commands.loader, listeners.loader)


FEATURE = Feature(
    name="tasks",
    api_routers=(api.router,),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("tasks", "Tasks", "/tasks", 47),),
    nav_badges={"tasks": awaiting_review},
    command_loaders=_command_loaders,
)
