"""The typed API client: how the bot (and integrators) talk to guildbank.

One code path, two transports: in the embedded single-process mode the client calls the
ASGI app in-process; in split mode it speaks HTTP with a bearer service key. Writes carry
an ``Idempotency-Key`` (the bot derives it from the Discord event id), which is what makes
retrying them safe: a retried write never pays twice.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from starlette.types import ASGIApp

from guildbank.schemas import (
    AdjustOut,
    BalanceOut,
    ConfigOut,
    DailyOut,
    GuildOut,
    IntegrityOut,
    LeaderboardEntryOut,
    MemberStatusOut,
    RankOut,
    ReversalOut,
    RoleRewardHolderOut,
    SquadDeleteOut,
    SquadJoinOut,
    SquadLeaveOut,
    SquadMemberOut,
    SquadMembershipOut,
    SquadOut,
    SquadRankingOut,
    TransactionOut,
    TransferOut,
)

__all__ = ["ApiError", "ApiUnavailable", "GuildbankClient"]

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_DELAYS = (0.2, 0.6)


class ApiError(Exception):
    """A refusal from the API, with its stable ``code`` and human ``detail``."""

    def __init__(self, status: int, code: str, detail: str, fields: dict[str, Any] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or {}


class ApiUnavailable(ApiError):
    """The API could not be reached or failed internally (after retries where safe)."""


class GuildbankClient:
    def __init__(self, http: httpx.AsyncClient, *, retry_delays: tuple[float, ...] = RETRY_DELAYS):
        self._http = http
        self._retry_delays = retry_delays

    @classmethod
    def over_http(cls, base_url: str, api_key: str, *, timeout: float = 10.0) -> GuildbankClient:
        return cls(
            httpx.AsyncClient(
                base_url=base_url.rstrip("/"),
                timeout=timeout,
                headers={"Authorization": f"Bearer {api_key}"},
            )
        )

    @classmethod
    def in_process(cls, app: ASGIApp, api_key: str) -> GuildbankClient:
        return cls(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://guildbank.internal",
                headers={"Authorization": f"Bearer {api_key}"},
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retryable = method == "GET" or idempotency_key is not None
        attempts = (0.0, *self._retry_delays) if retryable else (0.0,)
        failure: ApiUnavailable | None = None
        for delay in attempts:
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as error:
                failure = ApiUnavailable(0, "unavailable", f"guildbank API unreachable: {error!r}")
                continue
            if response.status_code in RETRY_STATUSES or response.status_code >= 500:
                failure = ApiUnavailable(
                    response.status_code,
                    "unavailable",
                    f"guildbank API failed with {response.status_code}",
                )
                if response.status_code not in RETRY_STATUSES:
                    break
                continue
            if response.status_code >= 400:
                body = response.json()
                fields = {k: v for k, v in body.items() if k not in ("detail", "code")}
                raise ApiError(
                    response.status_code,
                    str(body.get("code", "error")),
                    str(body.get("detail", "")),
                    fields,
                )
            return response.json()
        assert failure is not None
        raise failure

    async def _model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(await self._request(method, path, **kwargs))

    async def _list(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            await self._request(method, path, **kwargs)
        )

    # Guilds and members

    async def register_guild(self, guild_id: str, name: str = "") -> GuildOut:
        return await self._model(
            GuildOut,
            "PUT",
            f"/api/guilds/{guild_id}",
            json={"name": name},
            idempotency_key=f"guild-register:{guild_id}:{name}",
        )

    async def set_member_active(
        self, guild_id: str, user_id: str, active: bool, *, idempotency_key: str | None = None
    ) -> MemberStatusOut:
        return await self._model(
            MemberStatusOut,
            "PUT",
            f"/api/guilds/{guild_id}/members/{user_id}/status",
            json={"active": active},
            idempotency_key=idempotency_key,
        )

    # Bytes

    async def balance(self, guild_id: str, user_id: str) -> BalanceOut:
        return await self._model(
            BalanceOut, "GET", f"/api/guilds/{guild_id}/bytes/balance/{user_id}"
        )

    async def claim_daily(self, guild_id: str, user_id: str, *, idempotency_key: str) -> DailyOut:
        return await self._model(
            DailyOut,
            "POST",
            f"/api/guilds/{guild_id}/bytes/daily/{user_id}",
            json={},
            idempotency_key=idempotency_key,
        )

    async def transfer(
        self,
        guild_id: str,
        *,
        giver_id: str,
        receiver_id: str,
        amount: int,
        reason: str | None,
        idempotency_key: str,
    ) -> TransferOut:
        body = {
            "giver_id": giver_id,
            "receiver_id": receiver_id,
            "amount": amount,
            "reason": reason,
        }
        return await self._model(
            TransferOut,
            "POST",
            f"/api/guilds/{guild_id}/bytes/transactions",
            json=body,
            idempotency_key=idempotency_key,
        )

    async def leaderboard(self, guild_id: str, limit: int = 10) -> list[LeaderboardEntryOut]:
        return await self._list(
            LeaderboardEntryOut,
            "GET",
            f"/api/guilds/{guild_id}/bytes/leaderboard",
            params={"limit": limit},
        )

    async def rank(self, guild_id: str, user_id: str) -> RankOut:
        return await self._model(
            RankOut, "GET", f"/api/guilds/{guild_id}/bytes/leaderboard/rank/{user_id}"
        )

    async def history(self, guild_id: str, user_id: str, limit: int = 10) -> list[TransactionOut]:
        return await self._list(
            TransactionOut,
            "GET",
            f"/api/guilds/{guild_id}/bytes/history/{user_id}",
            params={"limit": limit},
        )

    async def transactions(self, guild_id: str, **filters: Any) -> list[TransactionOut]:
        params = {k: v for k, v in filters.items() if v is not None}
        return await self._list(
            TransactionOut, "GET", f"/api/guilds/{guild_id}/bytes/transactions", params=params
        )

    async def config(self, guild_id: str) -> ConfigOut:
        return await self._model(ConfigOut, "GET", f"/api/guilds/{guild_id}/bytes/config")

    async def update_config(
        self, guild_id: str, changes: dict[str, Any], *, idempotency_key: str | None = None
    ) -> ConfigOut:
        return await self._model(
            ConfigOut,
            "PUT",
            f"/api/guilds/{guild_id}/bytes/config",
            json=changes,
            idempotency_key=idempotency_key,
        )

    async def adjust(
        self,
        guild_id: str,
        *,
        user_id: str,
        action: Literal["add", "remove", "set"],
        amount: int,
        reason: str,
        actor_id: str | None,
        idempotency_key: str,
    ) -> AdjustOut:
        body = {
            "user_id": user_id,
            "action": action,
            "amount": amount,
            "reason": reason,
            "actor_id": actor_id,
        }
        return await self._model(
            AdjustOut,
            "POST",
            f"/api/guilds/{guild_id}/bytes/adjust",
            json=body,
            idempotency_key=idempotency_key,
        )

    async def reverse(
        self,
        guild_id: str,
        transaction_id: int,
        *,
        reason: str,
        actor_id: str | None,
        idempotency_key: str,
    ) -> ReversalOut:
        return await self._model(
            ReversalOut,
            "POST",
            f"/api/guilds/{guild_id}/bytes/transactions/{transaction_id}/reverse",
            json={"reason": reason, "actor_id": actor_id},
            idempotency_key=idempotency_key,
        )

    async def integrity(self, guild_id: str) -> IntegrityOut:
        return await self._model(IntegrityOut, "GET", f"/api/guilds/{guild_id}/bytes/integrity")

    async def role_reward_holders(self, guild_id: str) -> list[RoleRewardHolderOut]:
        return await self._list(
            RoleRewardHolderOut, "GET", f"/api/guilds/{guild_id}/bytes/role-rewards/holders"
        )

    # Squads

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
