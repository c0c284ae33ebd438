"""The guilds API as the bot and integrators call it: registration, per-guild settings, and
the channels and roles the bot reports."""

from __future__ import annotations

import hashlib
from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.core.text import single_line
from guildbank.features.guilds.rules import MAX_GUILD_NAME_LENGTH
from guildbank.features.guilds.schemas import (
    ChannelIn,
    ConfigOut,
    GuildMetadataIn,
    GuildOut,
    RoleIn,
)

__all__ = ["GuildsClient"]


class GuildsClient(ApiTransport):
    """Typed guild methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def register_guild(self, guild_id: str, name: str = "") -> GuildOut:
        """Register the guild under ``name`` as Discord sends it: cleaned of control characters
        (the API refuses them; the guild must still be known), and hashed into the key, since
        a header is ASCII and a server's name often is not."""
        name = single_line(name)[:MAX_GUILD_NAME_LENGTH]
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        return await self._model(
            GuildOut,
            "PUT",
            f"/api/guilds/{guild_id}",
            json={"name": name},
            idempotency_key=f"guild-register:{guild_id}:{digest}",
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

    async def report_metadata(self, guild_id: str, metadata: GuildMetadataIn) -> None:
        """Every channel and role of the guild (those not listed are marked deleted).

        Metadata writes carry no idempotency key: they are idempotent by themselves, and a
        key would replay an old answer when a role is renamed back and forth."""
        await self._request(
            "PUT", f"/api/guilds/{guild_id}/metadata", json=metadata.model_dump(mode="json")
        )

    async def report_channel(self, guild_id: str, channel: ChannelIn) -> None:
        await self._request(
            "PUT",
            f"/api/guilds/{guild_id}/channels/{channel.id}",
            json=channel.model_dump(mode="json"),
        )

    async def report_channel_deleted(self, guild_id: str, channel_id: str) -> None:
        await self._request("DELETE", f"/api/guilds/{guild_id}/channels/{channel_id}")

    async def report_role(self, guild_id: str, role: RoleIn) -> None:
        await self._request(
            "PUT", f"/api/guilds/{guild_id}/roles/{role.id}", json=role.model_dump(mode="json")
        )

    async def report_role_deleted(self, guild_id: str, role_id: str) -> None:
        await self._request("DELETE", f"/api/guilds/{guild_id}/roles/{role_id}")
