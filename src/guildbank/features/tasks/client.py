"""The tasks API as the bot and integrators call it."""

from __future__ import annotations

from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.features.tasks.schemas import (
    MemberTaskOut,
    TaskDeleteOut,
    TaskOut,
    TaskSettingsOut,
    TaskStatsOut,
)

__all__ = ["TasksClient"]


def _path(guild_id: str, rest: str = "") -> str:
    return f"/api/guilds/{guild_id}/tasks{rest}"


class TasksClient(ApiTransport):
    """Typed task methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def tasks(
        self,
        guild_id: str,
        *,
        status: str | None = None,
        category: str | None = None,
        open_only: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskOut]:
        params: dict[str, Any] = {"open": open_only, "limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        if category is not None:
            params["category"] = category
        return await self._list(TaskOut, "GET", _path(guild_id), params=params)

    async def task(self, guild_id: str, task_id: int) -> TaskOut:
        return await self._model(TaskOut, "GET", _path(guild_id, f"/{task_id}"))

    async def create_task(
        self,
        guild_id: str,
        *,
        name: str,
        reward: int,
        description: str = "",
        duration_hours: int = 24,
        max_claims: int = -1,
        category: str | None = None,
        channel_id: str | None = None,
        role_id: str | None = None,
        actor_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> TaskOut:
        body = {
            "name": name,
            "reward": reward,
            "description": description,
            "duration_hours": duration_hours,
            "max_claims": max_claims,
            "category": category,
            "channel_id": channel_id,
            "role_id": role_id,
            "actor_id": actor_id,
        }
        return await self._model(
            TaskOut, "POST", _path(guild_id), json=body, idempotency_key=idempotency_key
        )

    async def update_task(
        self,
        guild_id: str,
        task_id: int,
        changes: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> TaskOut:
        return await self._model(
            TaskOut,
            "PUT",
            _path(guild_id, f"/{task_id}"),
            json=changes,
            idempotency_key=idempotency_key,
        )

    async def delete_task(
        self, guild_id: str, task_id: int, *, idempotency_key: str | None = None
    ) -> TaskDeleteOut:
        return await self._model(
            TaskDeleteOut,
            "DELETE",
            _path(guild_id, f"/{task_id}"),
            idempotency_key=idempotency_key,
        )

    async def claim_task(
        self, guild_id: str, task_id: int, user_id: str, *, idempotency_key: str
    ) -> MemberTaskOut:
        return await self._model(
            MemberTaskOut,
            "POST",
            _path(guild_id, f"/{task_id}/claim"),
            json={"user_id": user_id},
            idempotency_key=idempotency_key,
        )

    async def submit_proof(
        self,
        guild_id: str,
        task_id: int,
        user_id: str,
        *,
        proof: str | None,
        attachments: list[str],
        idempotency_key: str,
    ) -> MemberTaskOut:
        return await self._model(
            MemberTaskOut,
            "POST",
            _path(guild_id, f"/{task_id}/submit"),
            json={"user_id": user_id, "proof": proof, "attachments": attachments},
            idempotency_key=idempotency_key,
        )

    async def review_task(
        self,
        guild_id: str,
        task_id: int,
        user_id: str,
        *,
        accept: bool,
        reviewer_id: str,
        reason: str | None = None,
        idempotency_key: str,
    ) -> MemberTaskOut:
        return await self._model(
            MemberTaskOut,
            "POST",
            _path(guild_id, f"/{task_id}/review"),
            json={
                "user_id": user_id,
                "accept": accept,
                "reviewer_id": reviewer_id,
                "reason": reason,
            },
            idempotency_key=idempotency_key,
        )

    async def abandon_task(
        self, guild_id: str, task_id: int, user_id: str, *, idempotency_key: str
    ) -> MemberTaskOut:
        return await self._model(
            MemberTaskOut,
            "POST",
            _path(guild_id, f"/{task_id}/abandon"),
            json={"user_id": user_id},
            idempotency_key=idempotency_key,
        )

    async def member_tasks(
        self, guild_id: str, user_id: str, *, status: str | None = None
    ) -> list[MemberTaskOut]:
        params = {} if status is None else {"status": status}
        return await self._list(
            MemberTaskOut, "GET", _path(guild_id, f"/user/{user_id}"), params=params
        )

    async def task_review_queue(
        self, guild_id: str, *, task_id: int | None = None, limit: int = 100
    ) -> list[MemberTaskOut]:
        params: dict[str, Any] = {"limit": limit}
        if task_id is not None:
            params["task_id"] = task_id
        return await self._list(MemberTaskOut, "GET", _path(guild_id, "/review"), params=params)

    async def task_settings(self, guild_id: str) -> TaskSettingsOut:
        return await self._model(TaskSettingsOut, "GET", _path(guild_id, "/settings"))

    async def update_task_settings(
        self, guild_id: str, changes: dict[str, Any], *, idempotency_key: str | None = None
    ) -> TaskSettingsOut:
        return await self._model(
            TaskSettingsOut,
            "PUT",
            _path(guild_id, "/settings"),
            json=changes,
            idempotency_key=idempotency_key,
        )

    async def task_statistics(self, guild_id: str) -> TaskStatsOut:
        return await self._model(TaskStatsOut, "GET", _path(guild_id, "/stats"))
