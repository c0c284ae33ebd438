"""Domain events of announcements, embeds, custom commands and operator settings.

Operator-wide events (presence, restart, defaults) carry the guild id ``"0"``: they belong
to no server, and bots wait for them through ``/api/bot/sync``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = [
    "OPERATOR_GUILD",
    "AnnouncementChanged",
    "BotRestartRequested",
    "CustomCommandsChanged",
    "EmbedChanged",
    "OperatorSettingsChanged",
    "PresenceChanged",
]

OPERATOR_GUILD = "0"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbedChanged(DomainEvent):
    name: ClassVar[str] = "embed.changed"
    embed_id: int
    action: str  # created, updated, posted, deleted


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnouncementChanged(DomainEvent):
    name: ClassVar[str] = "announcement.changed"
    announcement_id: int
    status: str
    action: str  # created, scheduled, posted, updated, cancelled, deleted, pinned, orphaned


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomCommandsChanged(DomainEvent):
    name: ClassVar[str] = "custom_commands.changed"
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChanged(DomainEvent):
    name: ClassVar[str] = "bot.presence_changed"
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BotRestartRequested(DomainEvent):
    name: ClassVar[str] = "bot.restart_requested"
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorSettingsChanged(DomainEvent):
    name: ClassVar[str] = "operator.settings_changed"
    version: int
