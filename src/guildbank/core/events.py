"""Domain events: one typed class per fact a service announces.

A service records an event with ``uow.emit(SomethingHappened(...))``; the unit of work
publishes it on the bus only after its transaction commits. On the bus and the live stream an
event travels as its ``name``, its guild and its other fields as ``data``, so subscribers in
other processes and browsers need no Python classes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

__all__ = ["DomainEvent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every event: subclasses set ``name`` and add their payload fields."""

    name: ClassVar[str]
    guild_id: str

    def payload(self) -> dict[str, Any]:
        """The event's data as the bus and the stream carry it (everything but the guild)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "guild_id"}
