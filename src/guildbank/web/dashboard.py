"""The admin dashboard under ``/admin``: its routes, static files and what the live stream
needs to know about a browser's session.

It is mounted as a plain Starlette router (not FastAPI routes), so it stays out of the
OpenAPI schema and out of the API's bearer-key contract: it has its own session auth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Mount, Router
from starlette.staticfiles import StaticFiles

from guildbank.web import (
    routes_auth,
    routes_guild,
    routes_members,
    routes_squads,
    routes_transactions,
)
from guildbank.web.guard import dashboard_state
from guildbank.web.state import AccessUnavailable, DashboardState, SessionEnded

__all__ = ["STATIC", "StreamScope", "build_dashboard", "stream_scope"]

STATIC = Path(__file__).parent / "static"


def build_dashboard() -> Router:
    """The ``/admin`` router (mount it at ``/admin``)."""
    return Router(
        routes=[
            *routes_auth.routes,
            *routes_guild.routes,
            *routes_members.routes,
            *routes_squads.routes,
            *routes_transactions.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )


@dataclass(frozen=True, slots=True)
class StreamScope:
    """A dashboard session's view of the live stream: its servers (None = every server)."""

    state: DashboardState
    session_id: str
    guilds: frozenset[str] | None

    async def still_valid(self) -> bool:
        """Re-checked while streaming: logged out, or lost access to a server → stop."""
        session = await self.state.sessions.get(self.session_id)
        if session is None:
            return False
        try:
            access = await self.state.access_for(session)
        except (SessionEnded, AccessUnavailable):
            return False
        return self.guilds is None or all(access.allows(g) for g in self.guilds)


async def stream_scope(request: Request) -> StreamScope | None:
    """The live stream's session check: None without a valid dashboard session."""
    state = dashboard_state(request)
    session = await state.session_of(request)
    if session is None:
        return None
    try:
        access = await state.access_for(session)
    except (SessionEnded, AccessUnavailable):
        return None
    return StreamScope(state, session.id, access.guild_ids)
