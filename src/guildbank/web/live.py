"""What the live stream needs to know about a browser's dashboard session."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from guildbank.web.guard import dashboard_state
from guildbank.web.state import AccessUnavailable, DashboardState, SessionEnded

__all__ = ["StreamScope", "stream_scope"]


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
