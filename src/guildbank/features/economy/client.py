"""The economy API as the bot and integrators call it: balances, dailies, transfers, history,
the leaderboard, admin adjustments and reversals, member presence and role-reward holders."""

from __future__ import annotations

from typing import Any, Literal

from guildbank.bot.transport import ApiTransport
from guildbank.features.economy.schemas import (
    AdjustOut,
    BalanceOut,
    DailyOut,
    IntegrityOut,
    LeaderboardEntryOut,
    MemberStatusOut,
    RankOut,
    ReversalOut,
    RoleRewardHolderOut,
    TransactionOut,
    TransferOut,
)

__all__ = ["EconomyClient"]


class EconomyClient(ApiTransport):
    """Typed economy methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def set_member_active(
        self,
        guild_id: str,
        user_id: str,
        active: bool,
        *,
        display_name: str | None = None,
        idempotency_key: str | None = None,
    ) -> MemberStatusOut:
        """Record a member leaving or (re)joining, and the name they go by (member search)."""
        body: dict[str, object] = {"active": active}
        if display_name is not None:
            body["display_name"] = display_name
        return await self._model(
            MemberStatusOut,
            "PUT",
            f"/api/guilds/{guild_id}/members/{user_id}/status",
            json=body,
            idempotency_key=idempotency_key,
        )

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
