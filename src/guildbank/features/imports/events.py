"""What the importer announces (live dashboards reload what it changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["GuildImported"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuildImported(DomainEvent):
    name: ClassVar[str] = "imports.guild_imported"
    run_id: int
    members: int
    total: int
