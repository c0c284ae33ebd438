"""What the guilds feature announces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["ConfigChanged", "GuildRegistered"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuildRegistered(DomainEvent):
    """A guild was seen for the first time: its settings and system accounts now exist."""

    name: ClassVar[str] = "guild.registered"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChanged(DomainEvent):
    """A guild's settings changed: every process drops its cached copy."""

    name: ClassVar[str] = "config.changed"
    changed: list[str]
    actor_id: str | None
