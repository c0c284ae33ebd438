"""The dashboard's Jinja environment: the kit's own templates plus each feature's folder.

Features register their template folder and navigation tabs through the registry
(``runtime.registry``); the kit never names a feature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from guildbank.core.feature import NavBadge, NavLink
from guildbank.platform.uow import Services, unit_of_work

__all__ = ["STATIC", "TEMPLATES", "add_feature_pages", "nav_badges", "templates"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _number(value: int | None) -> str:
    return "–" if value is None else f"{value:,}".replace(",", "\u202f")


def _moment(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


_loader = FileSystemLoader([TEMPLATES])
templates = Environment(
    loader=_loader,
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["num"] = _number
templates.filters["moment"] = _moment
templates.globals["nav_links"] = ()
_nav: dict[str, NavLink] = {}
_badges: dict[str, NavBadge] = {}


def add_feature_pages(
    folder: Path | None, links: Iterable[NavLink], badges: Mapping[str, NavBadge] | None = None
) -> None:
    """Make a feature's templates findable and its tabs (and their counts) part of every
    server's navigation."""
    if folder is not None and str(folder) not in _loader.searchpath:
        _loader.searchpath.append(str(folder))
    _nav.update({link.key: link for link in links})
    _badges.update(badges or {})
    templates.globals["nav_links"] = tuple(sorted(_nav.values(), key=lambda link: link.order))


async def nav_badges(services: Services, guild_id: str) -> dict[str, int]:
    """The tabs' counts for one server, read in one read-only unit of work."""
    if not _badges or not guild_id:
        return {}
    async with unit_of_work(services, read_only=True) as uow:
        counts = {key: await badge(uow, guild_id) for key, badge in _badges.items()}
        await uow.commit()
    return counts
