"""What squads announce; the role changes they carry are what Discord must mirror."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from guildbank.core.events import DomainEvent

__all__ = ["SquadCreated", "SquadDeleted", "SquadJoined", "SquadLeft", "SquadUpdated"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SquadJoined(DomainEvent):
    name: ClassVar[str] = "squad.joined"
    user_id: str
    squad_id: int
    previous_squad_id: int | None
    cost: int
    balance: int
    transaction_id: int | None
    role_added: str
    role_removed: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SquadLeft(DomainEvent):
    name: ClassVar[str] = "squad.left"
    user_id: str
    squad_id: int
    role_removed: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SquadCreated(DomainEvent):
    name: ClassVar[str] = "squad.created"
    squad_id: int
    squad_name: str
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SquadUpdated(DomainEvent):
    name: ClassVar[str] = "squad.updated"
    squad_id: int
    changed: list[str]
    old_role_id: str
    role_id: str
    actor_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SquadDeleted(DomainEvent):
    name: ClassVar[str] = "squad.deleted"
    squad_id: int
    role_id: str
    moved_to: int | None
    moved_to_role_id: str | None
    members: list[str]
    actor_id: str | None
