"""The squads API as the bot and integrators call it: squads and their admin, joining, leaving,
rosters and the leaderboard."""

from __future__ import annotations

from typing import Any

from guildbank.bot.transport import ApiError, ApiTransport
from guildbank.features.squads.schemas import (
    SquadDeleteOut,
    SquadJoinOut,
    SquadLeaveOut,
    SquadMemberOut,
    SquadMembershipOut,
    SquadOut,
    SquadRankingOut,
)

__all__ = ["SquadsClient"]


class SquadsClient(ApiTransport):
    """Typed squad methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def squads(
        self, guild_id: str, *, include_inactive: bool = False, user_id: str | None = None
    ) -> list[SquadOut]:
        """The squads; with ``user_id`` each has ``is_member`` and that member's ``join_cost``."""
        params: dict[str, Any] = {"include_inactive": include_inactive}
        if user_id is not None:
            params["user_id"] = user_id
        return await self._list(SquadOut, "GET", f"/api/guilds/{guild_id}/squads", params=params)

    async def squad(self, guild_id: str, squad_id: int) -> SquadOut:
        return await self._model(SquadOut, "GET", f"/api/guilds/{guild_id}/squads/{squad_id}")

    async def create_squad(
        self,
        guild_id: str,
        *,
        role_id: str,
        name: str,
        description: str = "",
        emoji: str | None = None,
        switch_cost: int | None = None,
        max_members: int | None = None,
        is_active: bool = True,
        idempotency_key: str | None = None,
    ) -> SquadOut:
        body: dict[str, Any] = {
            "role_id": role_id,
            "name": name,
            "description": description,
            "emoji": emoji,
            "max_members": max_members,
            "is_active": is_active,
        }
        if switch_cost is not None:
            body["switch_cost"] = switch_cost
        return await self._model(
            SquadOut,
            "POST",
            f"/api/guilds/{guild_id}/squads",
            json=body,
            idempotency_key=idempotency_key,
        )

    async def update_squad(
        self,
        guild_id: str,
        squad_id: int,
        changes: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> SquadOut:
        return await self._model(
            SquadOut,
            "PUT",
            f"/api/guilds/{guild_id}/squads/{squad_id}",
            json=changes,
            idempotency_key=idempotency_key,
        )

    async def delete_squad(
        self,
        guild_id: str,
        squad_id: int,
        *,
        move_to: int | None = None,
        kick_members: bool = False,
        idempotency_key: str | None = None,
    ) -> SquadDeleteOut:
        params: dict[str, Any] = {"kick_members": kick_members}
        if move_to is not None:
            params["move_to"] = move_to
        return await self._model(
            SquadDeleteOut,
            "DELETE",
            f"/api/guilds/{guild_id}/squads/{squad_id}",
            params=params,
            idempotency_key=idempotency_key,
        )

    async def join_squad(
        self, guild_id: str, squad_id: int, user_id: str, *, idempotency_key: str
    ) -> SquadJoinOut:
        return await self._model(
            SquadJoinOut,
            "POST",
            f"/api/guilds/{guild_id}/squads/{squad_id}/join",
            json={"user_id": user_id},
            idempotency_key=idempotency_key,
        )

    async def leave_squad(
        self, guild_id: str, user_id: str, *, idempotency_key: str
    ) -> SquadLeaveOut:
        return await self._model(
            SquadLeaveOut,
            "POST",
            f"/api/guilds/{guild_id}/squads/leave",
            json={"user_id": user_id},
            idempotency_key=idempotency_key,
        )

    async def member_squad(self, guild_id: str, user_id: str) -> SquadMembershipOut | None:
        """The member's squad, or None when they are in none."""
        try:
            return await self._model(
                SquadMembershipOut, "GET", f"/api/guilds/{guild_id}/squads/members/{user_id}"
            )
        except ApiError as error:
            if error.code == "not_in_squad":
                return None
            raise

    async def squad_members(
        self, guild_id: str, squad_id: int, *, limit: int = 50, offset: int = 0
    ) -> list[SquadMemberOut]:
        return await self._list(
            SquadMemberOut,
            "GET",
            f"/api/guilds/{guild_id}/squads/{squad_id}/members",
            params={"limit": limit, "offset": offset},
        )

    async def squad_leaderboard(self, guild_id: str, limit: int = 10) -> list[SquadRankingOut]:
        return await self._list(
            SquadRankingOut,
            "GET",
            f"/api/guilds/{guild_id}/squads/leaderboard",
            params={"limit": limit},
        )
