"""The announcements API as the bot and integrators call it: embeds, announcements, custom
commands, presence and the bots' sync."""

from __future__ import annotations

from typing import Any

from guildbank.bot.transport import ApiTransport
from guildbank.features.announcements.schemas import (
    AnnouncementOut,
    BotStatusOut,
    BotSyncOut,
    CommandSetOut,
    CustomCommandOut,
    EmbedTemplateOut,
    PresenceOut,
)

__all__ = ["AnnouncementsClient"]


class AnnouncementsClient(ApiTransport):
    """Typed methods; a mixin over the transport, combined in ``GuildbankClient``."""

    async def embeds(self, guild_id: str) -> list[EmbedTemplateOut]:
        return await self._list(EmbedTemplateOut, "GET", f"/api/guilds/{guild_id}/embeds")

    async def create_embed(
        self, guild_id: str, *, name: str, embed: dict[str, Any], idempotency_key: str | None = None
    ) -> EmbedTemplateOut:
        return await self._model(
            EmbedTemplateOut,
            "POST",
            f"/api/guilds/{guild_id}/embeds",
            json={"name": name, "embed": embed},
            idempotency_key=idempotency_key,
        )

    async def announcements(self, guild_id: str) -> list[AnnouncementOut]:
        return await self._list(AnnouncementOut, "GET", f"/api/guilds/{guild_id}/announcements")

    async def create_announcement(
        self, guild_id: str, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> AnnouncementOut:
        return await self._model(
            AnnouncementOut,
            "POST",
            f"/api/guilds/{guild_id}/announcements",
            json=body,
            idempotency_key=idempotency_key,
        )

    async def report_deleted_message(
        self, guild_id: str, *, channel_id: str, message_id: str
    ) -> AnnouncementOut | None:
        """A message was deleted in Discord: flags the announcement it showed, if any."""
        found = await self._request(
            "POST",
            f"/api/guilds/{guild_id}/announcements/orphans",
            json={"channel_id": channel_id, "message_id": message_id},
        )
        return None if found is None else AnnouncementOut.model_validate(found)

    async def custom_commands(self, guild_id: str) -> CommandSetOut:
        return await self._model(CommandSetOut, "GET", f"/api/guilds/{guild_id}/commands")

    async def create_custom_command(
        self,
        guild_id: str,
        *,
        name: str,
        response: str = "",
        description: str = "A custom command",
        embed_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> CustomCommandOut:
        return await self._model(
            CustomCommandOut,
            "POST",
            f"/api/guilds/{guild_id}/commands",
            json={
                "name": name,
                "response": response,
                "description": description,
                "embed_id": embed_id,
            },
            idempotency_key=idempotency_key,
        )

    async def delete_custom_command(self, guild_id: str, name: str) -> CustomCommandOut:
        return await self._model(
            CustomCommandOut, "DELETE", f"/api/guilds/{guild_id}/commands/{name}"
        )

    async def presence(self) -> PresenceOut:
        return await self._model(PresenceOut, "GET", "/api/bot/status")

    async def set_presence(
        self,
        *,
        status: str,
        activity_type: str | None = None,
        activity_text: str = "",
        idempotency_key: str | None = None,
    ) -> PresenceOut:
        return await self._model(
            PresenceOut,
            "PUT",
            "/api/bot/status",
            json={"status": status, "activity_type": activity_type, "activity_text": activity_text},
            idempotency_key=idempotency_key,
        )

    async def bot_sync(self, body: dict[str, Any]) -> BotSyncOut:
        """Heartbeat and long poll (keep ``wait_seconds`` below the client's timeout)."""
        return await self._model(BotSyncOut, "POST", "/api/bot/sync", json=body)

    async def system_status(self) -> BotStatusOut:
        return await self._model(BotStatusOut, "GET", "/api/status")
