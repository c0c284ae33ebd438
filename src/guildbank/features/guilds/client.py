"""The guilds API as the bot and integrators call it: registration and per-guild settings."""

from __future__ import annotations

from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.features.guilds.schemas import ConfigOut, GuildOut

__all__ = ["GuildsClient"]


class GuildsClient(ApiTransport):
    """Typed guild methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def register_guild(self, guild_id: str, name: str = "") -> GuildOut:
        return await self._model(
            GuildOut,
            "PUT",
            f"/api/guilds/{guild_id}",
            json={"name": name},
            idempotency_key=f"guild-register:{guild_id}:{name}",
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
