"""What the guilds feature refuses."""

from __future__ import annotations

from typing import ClassVar

from guildbank.core.errors import NotFound

__all__ = ["GuildNotFound"]


class GuildNotFound(NotFound):
    code: ClassVar[str] = "guild_not_found"

    def __init__(self, guild_id: str) -> None:
        super().__init__(f"Guild {guild_id!r} not found", guild_id=guild_id)
