"""The outbox as the runtime assembles it: the worker protocol and each guild's jobs in the
API, the Sync page (with a count of failed jobs on its tab) in the dashboard. The bot's
worker is wired in ``runtime/bot.py``."""

from __future__ import annotations

from pathlib import Path

from guildbank.core.feature import Feature, NavLink
from guildbank.outbox import api, pages, queries
from guildbank.platform.uow import UnitOfWork

__all__ = ["FEATURE"]


async def _failed(uow: UnitOfWork, guild_id: str) -> int:
    return await queries.failed_count(uow, guild_id=guild_id)


FEATURE = Feature(
    name="outbox",
    api_routers=(api.worker_router, api.guild_router),
    pages=pages.routes,
    templates=Path(__file__).parent / "templates",
    nav=(NavLink("sync", "Sync", "/sync", 90),),
    nav_badges={"sync": _failed},
)
