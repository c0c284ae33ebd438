"""Domain events and the bus that carries them (in-process now, Redis when scaled)."""

from guildbank.events.bus import Event, EventBus, InProcessBus, Subscription

__all__ = ["Event", "EventBus", "InProcessBus", "Subscription"]
