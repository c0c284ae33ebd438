"""What a feature contributes to the running processes, declared once in its ``feature.py``.

``runtime.registry`` lists every feature; the app, the dashboard and the bot are assembled
from these declarations, so adding a feature is a new folder plus one registry line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import lightbulb
    from fastapi import APIRouter
    from fastapi.routing import APIRoute
    from starlette.routing import BaseRoute


__all__ = ["Feature", "NavBadge", "NavLink"]


@dataclass(frozen=True, slots=True)
class NavLink:
    """A tab of a server's pages: ``path`` is relative to the server's base URL."""

    key: str
    label: str
    path: str
    order: int


# A number shown on a tab (say, failed outbox jobs): ``(unit of work, guild id) -> count``,
# read when a server's page renders; 0 shows nothing.
NavBadge = Callable[[Any, str], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Feature:
    """A feature's REST routers, dashboard pages, templates, tabs and Discord commands."""

    name: str
    api_routers: Sequence[APIRouter] = ()
    # The busiest API routes, with their full paths: matched before any router (api.lean).
    lean_routes: Sequence[APIRoute] = ()
    pages: Sequence[BaseRoute] = ()
    templates: Path | None = None
    nav: Sequence[NavLink] = ()
    # Counts shown on tabs, by the tab's key (``NavBadge``).
    nav_badges: Mapping[str, NavBadge] = field(default_factory=dict)
    # Called by the bot only, so the web process never imports the Discord libraries.
    command_loaders: Callable[[], Sequence[lightbulb.Loader]] = tuple
